"""Cloud storage and hosting CLIs: aws, gsutil/gcloud, az, rclone, gh.

Bucket URIs (``s3://``, ``gs://``) and rclone ``remote:path`` operands are the network side of a
copy: a bucket destination is an UPLOAD of the local sources, a bucket source a FETCH.
"""

from __future__ import annotations

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, parse

__all__ = ["HANDLERS"]

# --- object storage ---------------------------------------------------------------------------


def _copy_between(
    acc: Acc, sources: list[str], dest: str | None, remote: tuple[str, ...], *, recursive: bool
) -> None:
    """Copy semantics where ``remote`` prefixes mark bucket URIs."""
    if dest is None:
        return
    for source in sources:
        if source.startswith(remote):
            acc.link(NetDirection.FETCH, source)
        elif source != "-":
            acc.file(FileOp.READ, source, recursive=recursive)
        else:
            acc.mark("net.upload-stdin")
    if dest.startswith(remote):
        acc.link(NetDirection.UPLOAD, dest)
    elif dest == "-":
        acc.outputs_network = True
    else:
        acc.file(FileOp.WRITE, dest, recursive=recursive)


_AWS = Grammar(
    "--profile --region --endpoint-url --output --query --exclude --include --acl --sse"
    " --storage-class --expires --grants --content-type --cli-input-json --cli-input-yaml"
    " --color --ca-bundle --cli-read-timeout --cli-connect-timeout --sse-kms-key-id"
    " --cache-control --metadata --website-redirect --source-region"
)


def _aws(name: str, args: Argv) -> Effects:
    parsed = parse(args, _AWS)
    acc = Acc()
    words = parsed.operands
    endpoint = parsed.value("--endpoint-url")
    if len(words) >= 2 and words[0] == "s3" and words[1] in ("cp", "sync", "mv"):
        operands = words[2:]
        _copy_between(
            acc,
            operands[:-1],
            operands[-1] if operands else None,
            ("s3://",),
            recursive=words[1] == "sync" or parsed.has("--recursive"),
        )
        if words[1] == "mv":
            for source in operands[:-1]:
                if not source.startswith("s3://"):
                    acc.file(FileOp.DELETE, source, recursive=parsed.has("--recursive"))
    elif len(words) >= 2 and words[0] == "s3" and words[1] in ("rm", "rb"):
        every = " --recursive" if parsed.has("--recursive") else ""
        for uri in words[2:]:
            acc.mark("cloud.delete", f"{words[1]}{every} {uri}")
    elif words:
        acc.link(NetDirection.CONNECT, f"{words[0]}.amazonaws.com")
        if words[0] in ("iam", "sts", "secretsmanager", "ssm", "kms"):
            acc.mark("cloud.iam", " ".join(words[:2]))
    if endpoint:
        acc.link(NetDirection.CONNECT, endpoint)
    return acc.build()


def _gsutil(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    if name == "gcloud":
        if words[:2] in (["projects", "delete"], ["sql", "instances"]) and "delete" in words[1:3]:
            acc.mark("cloud.delete", " ".join(words[:4]))  # a whole project or database server
        if words[:2] != ["storage", "cp"] and words[:2] != ["storage", "rsync"]:
            if words:
                acc.link(NetDirection.CONNECT, "googleapis.com")
            return acc.build()
        words = words[1:]
    if words and words[0] in ("cp", "rsync", "mv"):
        operands = words[1:]
        _copy_between(
            acc,
            operands[:-1],
            operands[-1] if operands else None,
            ("gs://",),
            recursive="-r" in args or "-R" in args or words[0] == "rsync",
        )
    elif words and words[0] in ("rm", "rb"):
        every = " --recursive" if "-r" in args or "-R" in args or "--recursive" in args else ""
        for uri in words[1:]:
            acc.mark("cloud.delete", f"{words[0]}{every} {uri}")
    return acc.build()


_AZ_BLOB = Grammar(
    "-f -c -n -s -d --file --container-name --name --account-name --account-key --source"
    " --destination --sas-token --connection-string --auth-mode --pattern --type"
)


def _az(name: str, args: Argv) -> Effects:
    parsed = parse(args, _AZ_BLOB)
    acc = Acc()
    words = parsed.operands
    account = parsed.value("--account-name") or "account"
    container = parsed.value("-c", "--container-name", "-d", "--destination") or ""
    target = f"https://{account}.blob.core.windows.net/{container}".rstrip("/")
    if words[:2] == ["storage", "blob"] and len(words) > 2:
        verb = words[2]
        if verb in ("upload", "upload-batch", "sync"):
            acc.read(parsed.value("-f", "--file", "-s", "--source"))
            acc.link(NetDirection.UPLOAD, target)
        elif verb in ("download", "download-batch"):
            acc.write(parsed.value("-f", "--file", "-d", "--destination"))
            acc.link(NetDirection.FETCH, target)
        elif verb in ("delete", "delete-batch"):
            acc.mark("cloud.delete", f"rm {target}")
    elif words[:2] == ["group", "delete"]:
        acc.mark("cloud.delete", "group delete " + (parsed.value("-n", "--name") or ""))
        acc.link(NetDirection.CONNECT, "management.azure.com")
    elif words:
        acc.link(NetDirection.CONNECT, "management.azure.com")
    return acc.build()


def _is_rclone_remote(word: str) -> bool:
    colon = word.find(":")
    return colon > 0 and "/" not in word[:colon] and not word.startswith(("/", "."))


_RCLONE = Grammar(
    "--config --exclude --include --filter --files-from --log-file"
    " --bwlimit --transfers --checkers --backup-dir"
)


def _rclone(name: str, args: Argv) -> Effects:
    parsed = parse(args, _RCLONE)
    acc = Acc()
    words = parsed.operands
    if not words:
        return acc.build()
    verb, operands = words[0], words[1:]
    if verb in ("copy", "sync", "move", "copyto", "moveto", "bisync") and len(operands) >= 2:
        source, dest = operands[0], operands[-1]
        if _is_rclone_remote(source):
            acc.link(NetDirection.FETCH, source)
        else:
            acc.file(FileOp.READ, source, recursive=True)
            if verb.startswith("move"):
                acc.file(FileOp.DELETE, source, recursive=True)
        if _is_rclone_remote(dest):
            acc.link(NetDirection.UPLOAD, dest)
        else:
            acc.file(FileOp.WRITE, dest, recursive=True)
    elif verb in ("delete", "purge", "deletefile", "rmdir", "rmdirs"):
        for operand in operands:
            if _is_rclone_remote(operand):
                acc.mark("cloud.delete", operand)
            else:
                acc.file(FileOp.DELETE, operand, recursive=verb == "purge")
    elif verb in ("rcat",):
        acc.link(NetDirection.UPLOAD, operands[0] if operands else None)
        acc.mark("net.upload-stdin")
    acc.read(parsed.value("--config"))
    return acc.build()


_GH = Grammar(
    "-d -f -F -R -H -X -t -b -r --desc --repo --filename"
    " --method --field --raw-field --header --title --body"
)


def _gh(name: str, args: Argv) -> Effects:
    parsed = parse(args, _GH)
    acc = Acc()
    words = parsed.operands
    if words[:2] == ["gist", "create"] or words[:2] == ["gist", "edit"]:
        files = words[2:] if words[1] == "create" else words[3:]
        for path in files:
            if path == "-":
                acc.mark("net.upload-stdin")
            else:
                acc.read(path)
        acc.link(NetDirection.UPLOAD, "gist.github.com")
        if parsed.has("-p", "--public"):
            acc.mark("net.public-upload", "gist")
    elif words[:2] == ["release", "upload"]:
        acc.files_of(FileOp.READ, [w.partition("#")[0] for w in words[3:]])
        acc.link(NetDirection.UPLOAD, "github.com")
    elif words[:2] == ["repo", "clone"] and len(words) > 2:
        acc.link(NetDirection.FETCH, f"github.com/{words[2]}")
        acc.file(
            FileOp.WRITE,
            words[3] if len(words) > 3 else words[2].rpartition("/")[2],
            recursive=True,
        )
    elif words[:1] == ["api"]:
        sending = parsed.has("-f", "-F", "--field", "--raw-field", "--input")
        method = (parsed.value("-X", "--method") or "").upper()
        sending = sending or method in ("POST", "PUT", "PATCH", "DELETE")
        acc.link(NetDirection.UPLOAD if sending else NetDirection.FETCH, "api.github.com")
    elif words:
        acc.link(NetDirection.CONNECT, "api.github.com")
    return acc.build()


def _terraform(name: str, args: Argv) -> Effects:
    """``terraform destroy`` / ``apply -destroy`` without ``-target``: everything the state
    holds is deleted (``infra.destroy``); with ``-target`` only what is named."""
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    verb = words[0] if words else ""
    destroying = verb == "destroy" or (verb == "apply" and "-destroy" in args)
    if destroying and not any(w.startswith(("-target", "--target")) for w in args):
        acc.mark("infra.destroy", f"{name} {' '.join(args)}"[:200])
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "terraform": _terraform,
    "tofu": _terraform,
    "aws": _aws,
    "gsutil": _gsutil,
    "gcloud": _gsutil,
    "az": _az,
    "rclone": _rclone,
    "gh": _gh,
}
