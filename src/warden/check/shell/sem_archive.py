"""Archivers, compressors, crypto tools and database clients.

tar, zip/unzip, 7z, gzip and friends, openssl, gpg, sqlite3, psql, mysql, mongo(sh), redis-cli.
"""

from __future__ import annotations

import re
import shlex

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import (
    ANY_ADDRESS,
    STDIN_NAMES,
    Acc,
    Argv,
    Grammar,
    Handler,
    names,
    parse,
    port_of,
    split_host_port,
)

__all__ = ["HANDLERS"]

# --- tar --------------------------------------------------------------------------------------

_TAR_VALUE_LETTERS = frozenset("fCTXbgHIKLNVF")
_TAR = Grammar(
    "-f -C -T -X -b -g -H -I -K -L -N -V -F --file --directory --files-from --exclude-from"
    " --blocking-factor --listed-incremental --format --use-compress-program --starting-file"
    " --tape-length --newer --label --exclude --transform --xform --owner --group --mode"
    " --to-command --checkpoint-action --info-script --new-volume-script --rsh-command"
)


# Old-style bundles are a handful of letters (`xzvf`); anything longer is an ordinary operand.
MAX_TAR_BUNDLE = 16


def _tar_argv(args: Argv) -> list[str]:
    """Expand old-style bundled letters: ``tar xzfC a.tgz dir`` -> ``-x -z -f a.tgz -C dir``."""
    if not args or not args[0].isalpha() or len(args[0]) > MAX_TAR_BUNDLE:
        return list(args)
    letters, rest = args[0], list(args[1:])
    out: list[str] = []
    for letter in letters:
        out.append("-" + letter)
        if letter in _TAR_VALUE_LETTERS and rest:
            out.append(rest.pop(0))
    return out + rest


def _tar(name: str, args: Argv) -> Effects:
    parsed = parse(_tar_argv(args), _TAR)
    acc = Acc()
    archive = parsed.value("-f", "--file")
    directory = parsed.value("-C", "--directory")
    creating = parsed.has("-c", "--create", "-r", "--append", "-u", "--update")
    extracting = parsed.has("-x", "--extract", "--get")
    if creating:
        members = [
            m if directory is None or m.startswith("/") else f"{directory}/{m}"
            for m in parsed.operands
        ]
        acc.files_of(FileOp.READ, members, recursive=True)
        if archive not in (None, "-"):
            acc.write(archive)
    else:
        if archive not in (None, "-"):
            acc.read(archive)
        if extracting and not parsed.has("-O", "--to-stdout"):
            acc.file(FileOp.WRITE, directory or ".", recursive=True)
            if parsed.has("-P", "--absolute-names"):
                # members keep a leading / and `..`: they may land anywhere
                acc.file(FileOp.WRITE, "/", recursive=True)
    lists = parsed.values("-T", "--files-from")
    acc.read(*(f for f in lists if f not in STDIN_NAMES), *parsed.values("-X", "--exclude-from"))
    acc.names_on_stdin = creating and not STDIN_NAMES.isdisjoint(lists)
    if creating:
        acc.names_files = tuple(f for f in lists if f not in STDIN_NAMES)
    for opt, val in parsed.opts:
        if val is None:
            continue
        if opt == "--checkpoint-action" and val.startswith("exec="):
            acc.code(val[5:])
            acc.mark("archive.exec", val)
        elif opt in ("--to-command", "--info-script", "--new-volume-script", "-F"):
            acc.code(val)
            acc.mark("archive.exec", val)
        elif opt in ("-I", "--use-compress-program", "--rsh-command"):
            acc.code(val)  # GNU tar runs these through /bin/sh -c
    if archive and ":" in archive and not archive.startswith(("/", ".")):
        host = archive.partition(":")[0]
        acc.link(NetDirection.UPLOAD if creating else NetDirection.FETCH, host)
    return acc.build()


# --- zip family -------------------------------------------------------------------------------

_ZIP = Grammar("-b -n -t -tt -x -i -P -Z -O --temp-path --suffixes --exclude --include -TT")


def _zip(name: str, args: Argv) -> Effects:
    words = list(args)
    acc = Acc()
    for spelling in ("--unzip-command", "-TT"):
        if spelling not in words:
            continue
        index = words.index(spelling)
        if index + 1 < len(words):
            acc.code(words[index + 1])
            acc.mark("archive.exec", words[index + 1])
        del words[index : index + 2]
    parsed = parse(words, _ZIP)
    acc.names_on_stdin = parsed.has("-@", "--names-stdin")
    if parsed.operands:
        acc.write(parsed.operands[0])
        recursive = parsed.has("-r", "-R", "--recurse-paths")
        acc.files_of(FileOp.READ, parsed.operands[1:], recursive=recursive)
    if parsed.has("-m", "--move"):
        acc.files_of(FileOp.DELETE, parsed.operands[1:], recursive=True)
    return acc.build()


# --- cpio -------------------------------------------------------------------------------------

_CPIO = Grammar(
    "-F -O -I -H -D -E -M -R -C --file --format --directory --pattern-file --message --owner"
    " --io-size --rsh-command --block-size"
)


def _cpio(name: str, args: Argv) -> Effects:
    """``cpio -o`` archives the files named on stdin (``find ~/.ssh | cpio -o``), ``-p DIR``
    copies them into DIR, ``-i`` extracts an archive into the current directory (or ``-D``)."""
    parsed = parse(args, _CPIO)
    acc = Acc()
    archive = parsed.value("-F", "--file", "-O", "-I")
    directory = parsed.value("-D", "--directory") or None
    if parsed.has("-o", "--create", "-p", "--pass-through"):
        acc.names_on_stdin = True
        if parsed.has("-p", "--pass-through"):
            for dest in parsed.operands[:1]:
                if directory is not None and not dest.startswith("/"):
                    dest = f"{directory}/{dest}"
                acc.file(FileOp.WRITE, dest, recursive=True)
        elif archive is not None:
            acc.write(archive)
    elif parsed.has("-i", "--extract"):
        if archive is not None:
            acc.read(archive)
        if not parsed.has("-t", "--list"):
            acc.file(FileOp.WRITE, directory or ".", recursive=True)
            if not parsed.has("--no-absolute-filenames"):
                # GNU cpio keeps a member's leading / unless told not to: it may land anywhere
                acc.file(FileOp.WRITE, "/", recursive=True)
    acc.read(*parsed.values("-E", "--pattern-file"))
    for command in parsed.values("--rsh-command"):
        acc.code(command)
    if archive and ":" in archive and not archive.startswith(("/", ".")):
        acc.link(NetDirection.UPLOAD if parsed.has("-o", "--create") else NetDirection.FETCH,
                 archive.partition(":")[0])  # fmt: skip
    return acc.build()


_UNZIP_OPTS = Grammar("-d -x -P -I -O")


def _unzip(name: str, args: Argv) -> Effects:
    parsed = parse(args, _UNZIP_OPTS)
    acc = Acc()
    if parsed.operands:
        acc.read(parsed.operands[0])
    if not parsed.has("-l", "-p", "-t", "-v", "-Z", "-c"):
        acc.file(FileOp.WRITE, parsed.value("-d") or ".", recursive=True)
        if parsed.has("-:"):  # members keep `..` (and a leading /): they may land anywhere
            acc.file(FileOp.WRITE, "/", recursive=True)
    return acc.build()


def _sevenzip(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    out_dir = next((w[2:] for w in args if w.startswith("-o")), None)
    if not words:
        return acc.build()
    command, rest = words[0], words[1:]
    if command in ("a", "u") and rest:
        acc.write(rest[0])
        # `7z a x.7z @LIST` (and the switch `-i@LIST`) archives the files LIST names
        lists = [w[1:] for w in rest[1:] if w.startswith("@")]
        lists += [w[3:] for w in args if w.startswith(("-i@", "-i!@"))]
        lists = [w[1:] if w.startswith("@") else w for w in lists]
        acc.files_of(FileOp.READ, [w for w in rest[1:] if not w.startswith("@")], recursive=True)
        acc.read(*(f for f in lists if f not in STDIN_NAMES))
        acc.names_on_stdin = not STDIN_NAMES.isdisjoint(lists)
        acc.names_files = tuple(f for f in lists if f not in STDIN_NAMES)
    elif command in ("x", "e") and rest:
        acc.read(rest[0])
        acc.file(FileOp.WRITE, out_dir or ".", recursive=True)
    elif command == "d" and rest:
        acc.read(rest[0])
        acc.write(rest[0])
    elif rest:
        acc.read(rest[0])
    return acc.build()


_PAX = Grammar("-f -s -x -b -o -p -c -n -E -G -T -U -B")


def _pax(name: str, args: Argv) -> Effects:
    """``pax -w`` archives its operands, or with none the files named on stdin; ``pax -r``
    extracts into the current directory; ``pax -rw SRC... DIR`` copies (names on stdin when
    only DIR is given)."""
    parsed = parse(args, _PAX)
    acc = Acc()
    flags = "".join(opt[1:] for opt, val in parsed.opts if val is None and not opt.startswith("--"))
    writing, reading = "w" in flags, "r" in flags
    archive = parsed.value("-f")
    operands = list(parsed.operands)
    if writing and reading:
        dest, sources = (operands[-1], operands[:-1]) if operands else (None, [])
        acc.file(FileOp.WRITE, dest, recursive=True)
    elif writing:
        dest, sources = None, operands
        if archive not in (None, "-"):
            acc.write(archive)
    else:
        if archive not in (None, "-"):
            acc.read(archive)
        if reading:
            acc.file(FileOp.WRITE, ".", recursive=True)
            if not parsed.values("-s"):  # (no -s ',^/,,' rewriting names: a leading / stays)
                acc.file(FileOp.WRITE, "/", recursive=True)
        return acc.build()
    acc.files_of(FileOp.READ, sources, recursive=True)
    acc.names_on_stdin = not sources
    return acc.build()


def _afio(name: str, args: Argv) -> Effects:
    """``afio -o ARCHIVE`` archives the files named on stdin; ``-i`` extracts, ``-t`` lists."""
    acc = Acc()
    flags = [w for w in args if w.startswith("-")]
    operands = [w for w in args if not w.startswith("-")]
    if any("o" in f[1:] for f in flags if not f.startswith("--")):
        acc.names_on_stdin = True
        if operands and operands[-1] != "-":
            acc.write(operands[-1])
    elif operands and operands[-1] != "-":
        acc.read(operands[-1])
        if any("i" in f[1:] for f in flags if not f.startswith("--")):
            acc.file(FileOp.WRITE, ".", recursive=True)
    return acc.build()


# --- compressors ------------------------------------------------------------------------------

# name -> (suffix, decompresses by default, keeps the input by default)
_COMPRESSORS: dict[str, tuple[str, bool, bool]] = {
    "gzip": (".gz", False, False),
    "gunzip": (".gz", True, False),
    "pigz": (".gz", False, False),
    "unpigz": (".gz", True, False),
    "xz": (".xz", False, False),
    "unxz": (".xz", True, False),
    "lzma": (".lzma", False, False),
    "unlzma": (".lzma", True, False),
    "bzip2": (".bz2", False, False),
    "bunzip2": (".bz2", True, False),
    "zstd": (".zst", False, True),
    "unzstd": (".zst", True, True),
    "lz4": (".lz4", False, True),
    "brotli": (".br", False, True),
    "compress": (".Z", False, False),
    "uncompress": (".Z", True, False),
}
_COMPRESS = Grammar("-S -T -o -M --suffix --threads --memlimit --format")


def _compress(name: str, args: Argv) -> Effects:
    suffix, decompress, keep = _COMPRESSORS[name]
    parsed = parse(args, _COMPRESS)
    acc = Acc()
    decompress = decompress or parsed.has("-d", "--decompress", "--uncompress")
    to_stdout = parsed.has("-c", "--stdout", "--to-stdout")
    keep = keep or parsed.has("-k", "--keep")
    if parsed.has("--rm"):
        keep = False
    suffix = parsed.value("-S", "--suffix") or suffix
    output = parsed.value("-o")
    for raw in parsed.operands:
        if raw == "-":
            continue
        acc.read(raw)
        if to_stdout or parsed.has("-t", "--test", "-l", "--list"):
            continue
        if output is None:
            acc.write(raw[: -len(suffix)] if decompress and raw.endswith(suffix) else raw + suffix)
        if not keep:
            acc.file(FileOp.DELETE, raw)
    acc.write(output)
    acc.outputs_decoded = decompress and (to_stdout or not parsed.operands)
    return acc.build()


# --- openssl / gpg ----------------------------------------------------------------------------

_OPENSSL_IN = names(
    "-in -inkey -CAfile -CA -CAkey -certfile -signer -cert -key -config -kfile -rand"
    " -verifyfile -prverify -sigfile"
)
_OPENSSL_OUT = names("-out -keyout -signkey -sess_out -keylogfile")
_OPENSSL_PASS = frozenset({"-pass", "-passin", "-passout"})
_OPENSSL_VALUES = names(
    "-servername -proxy -host -k -K -iv -md -cipher -ciphers -name -subj -days -newkey -nameopt"
    " -keyform -outform -inform -S -salt -pbkdf2 -iter -starttls -verify -sess_in -reconnect"
    " -bufsize -www -nbio -pkeyopt -sigopt -set_serial -extensions -extfile -reqexts"
)
_OPENSSL_CIPHERS = ("aes", "des", "bf", "camellia", "chacha", "rc", "cast", "seed", "sm4", "aria")


def _openssl(name: str, args: Argv) -> Effects:
    acc = Acc()
    if not args:
        return acc.build()
    command, rest = args[0], args[1:]
    operands: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        word = rest[i]
        value = rest[i + 1] if i + 1 < n else None
        i += 1
        if word in _OPENSSL_IN or word in _OPENSSL_OUT or word in _OPENSSL_PASS:
            i += 1
            if word in _OPENSSL_OUT:
                acc.write(value)
            elif word not in _OPENSSL_PASS:
                acc.read(value)
            elif value is not None and value.startswith("file:"):
                acc.read(value[5:])
        elif word == "-connect" and value is not None:
            i += 1
            host, port = split_host_port(value)
            acc.link(NetDirection.CONNECT, host, port)
        elif word in ("-accept", "-port") and value is not None:
            i += 1
            port = split_host_port(value)[1] if ":" in value else _int(value)
            acc.link(NetDirection.LISTEN, ANY_ADDRESS, port)
            acc.mark("net.listen", value)
        elif word in _OPENSSL_VALUES or word == "-extfile":
            i += 1
        elif not word.startswith("-"):
            operands.append(word)
    if command in ("s_client", "s_server"):
        acc.outputs_network = True
        if command == "s_client" and not acc.net:
            host, port = split_host_port(operands[0]) if operands else ("localhost", 4433)
            acc.link(NetDirection.CONNECT, host, port)
    elif command in ("dgst", "sha256", "md5", "sha1", "sha512", "asn1parse", "base64", "enc"):
        acc.files_of(FileOp.READ, operands)
    is_codec = command in ("enc", "base64") or command.startswith(_OPENSSL_CIPHERS)
    acc.outputs_decoded = is_codec and "-d" in rest and "-out" not in rest
    return acc.build()


_GPG = Grammar(
    "-o -r -u -R -z --output --recipient --local-user --homedir --keyserver --passphrase"
    " --passphrase-file --trust-model --default-key --hidden-recipient --cipher-algo"
    " --digest-algo --compress-algo --pinentry-mode --keyring --secret-keyring --batch-file"
    " --status-fd --logger-fd --passphrase-fd --command-fd"
)


def _gpg(name: str, args: Argv) -> Effects:
    parsed = parse(args, _GPG)
    acc = Acc()
    acc.write(*parsed.values("-o", "--output"))
    acc.read(*parsed.values("--passphrase-file"))
    if parsed.has("--export-secret-keys", "--export-secret-subkeys"):
        acc.mark("gpg.export-secret-keys")
    if parsed.has("--send-keys"):
        acc.link(NetDirection.UPLOAD, parsed.value("--keyserver") or "keys.openpgp.org")
    elif parsed.has("--recv-keys", "--receive-keys", "--search-keys", "--refresh-keys"):
        acc.link(NetDirection.FETCH, parsed.value("--keyserver") or "keys.openpgp.org")
    if parsed.has("-d", "--decrypt"):
        acc.outputs_decoded = not parsed.has("-o", "--output")
    if parsed.has("--delete-secret-keys", "--delete-keys", "--delete-secret-and-public-key"):
        acc.mark("gpg.delete-keys")
        return acc.build()
    if not parsed.has(
        "--export",
        "--export-secret-keys",
        "--export-secret-subkeys",
        "-k",
        "--list-keys",
        "-K",
        "--list-secret-keys",
        "--recv-keys",
        "--send-keys",
    ):
        acc.files_of(FileOp.READ, parsed.operands)
    return acc.build()


# --- database clients -------------------------------------------------------------------------


#: SQL that makes the database server run a program or touch a file by name (PostgreSQL's
#: ``COPY ... FROM/TO PROGRAM 'CMD'``, ``COPY t FROM 'F'``, ``pg_read_file('F')``,
#: ``lo_import('F')``; MySQL's ``LOAD_FILE('F')``, ``LOAD DATA INFILE 'F'``, ``INTO OUTFILE``).
#: A development database runs on the same machine, so these are the command's own effects.
#: Each quoted string is found once, left to right, and only the 64 characters before it are
#: read by the pattern (linear in the text, whatever it holds).
_SQL_STRING = re.compile(r"'((?:[^']|''){0,4096})'")
_SQL_BEFORE = re.compile(
    r"(?:\b(?:pg_read_file|pg_read_binary_file|pg_stat_file|lo_import|load_file)\s*\(\s*"
    r"|\b(lo_export)\s*\([^,()']{0,40},\s*|\b(FROM|TO)\s+(PROGRAM\s+)?|\bINFILE\s+"
    r"|\b(OUTFILE|DUMPFILE)\s+)\Z",
    re.IGNORECASE,
)


def _sql_server_effects(acc: Acc, text: str) -> None:
    lowered = text.lower()
    for found in _SQL_STRING.finditer(text):
        window = text[max(0, found.start() - 64) : found.start()]
        tail = window.rstrip()[-8:].lower()  # a cheap screen before the regex
        if not tail.endswith(("(", ",", "from", "to", "program", "infile", "outfile", "dumpfile")):
            continue
        before = _SQL_BEFORE.search(window)
        if before is None:
            continue
        value = found.group(1).replace("''", "'")
        export, direction, program, outfile = before.groups()
        if program:  # COPY ... FROM/TO PROGRAM 'CMD'
            acc.code(value)
            acc.mark("db.shell-escape", window[before.start() :] + found.group(0))
        elif direction and lowered.find("copy", max(0, found.start() - 1024), found.start()) < 0:
            continue  # `SET search_path TO 'x'`: not a file
        elif export or outfile or (direction and direction.lower() == "to"):
            acc.file(FileOp.WRITE, value)
        else:
            acc.file(FileOp.READ, value)


def _sql(acc: Acc, text: str, shell_escapes: tuple[str, ...]) -> None:
    acc.mark("sql", text)
    for line in text.replace(";", "\n").splitlines():
        stripped = line.strip()
        for escape in shell_escapes:
            if stripped.startswith(escape):
                acc.code(stripped[len(escape) :].strip())
                acc.mark("db.shell-escape", stripped)
    if "'" in text:
        _sql_server_effects(acc, text)


_SQLITE = Grammar(
    "-cmd -separator -nullvalue -newline -init -vfs -pagecache -lookaside -mmap -maxsize"
    " -escape -zip",
    long_dash=True,
)


#: sqlite3's dot commands that take a file: ``.read F`` runs F as SQL (an error prints its
#: lines), ``.import F T`` loads F into a table, ``.restore``/``.open`` read a database,
#: ``.output``/``.once``/``.backup``/``.save`` write one, ``.load`` loads a library.
_SQLITE_DOT_FILES = {
    ".read": FileOp.READ, ".import": FileOp.READ, ".restore": FileOp.READ, ".open": FileOp.READ,
    ".output": FileOp.WRITE, ".once": FileOp.WRITE, ".backup": FileOp.WRITE,
    ".save": FileOp.WRITE, ".load": FileOp.EXEC,
}  # fmt: skip
#: SQL functions of the sqlite3 shell that touch a file named by a string literal:
#: ``readfile('P')``, ``writefile('P', X)``, ``load_extension('P')``.
_SQLITE_FILE_CALLS = re.compile(
    r"\b(readfile|writefile|load_extension)\s*\(\s*'((?:[^']|'')*)'", re.IGNORECASE
)
_SQLITE_CALL_OPS = {
    "readfile": FileOp.READ, "writefile": FileOp.WRITE, "load_extension": FileOp.EXEC,
}  # fmt: skip


def _sqlite_files(acc: Acc, text: str) -> None:
    """The files a sqlite3 command line touches through dot commands and file functions
    (``sqlite3 app.db ".read F"``, ``select readfile('F')``). A dot command's file given as
    ``|CMD`` (``.once '|sh -c X'``, ``.read '|CMD'``) is a command it runs."""
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        op = _SQLITE_DOT_FILES.get(words[0]) if words else None
        if op is not None and len(words) > 1:
            try:
                target = shlex.split(words[1])
            except ValueError:
                target = words[1].split()
            target = [w for w in target if not w.startswith("-")]  # `.import --csv F T`
            if target and target[0].startswith("|"):
                acc.code(target[0][1:])
            elif target:
                acc.file(op, target[0])
    for found in _SQLITE_FILE_CALLS.finditer(text):
        acc.file(_SQLITE_CALL_OPS[found.group(1).lower()], found.group(2).replace("''", "'"))


#: SQL clients that run the statements arriving on stdin when given none, and the argv that
#: runs a text as their statement: ``echo '.shell CMD' | sqlite3 x.db`` does what
#: ``sqlite3 x.db '.shell CMD'`` does (``run._stdin_code`` walks the stdin that way).
SQL_STDIN_ARGV = {
    "sqlite3": ("sqlite3", ":memory:"), "sqlite": ("sqlite3", ":memory:"),
    "psql": ("psql", "-c"), "mysql": ("mysql", "-e"), "mariadb": ("mysql", "-e"),
}  # fmt: skip


def _sqlite3(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SQLITE)
    acc = Acc()
    init = parsed.value("-init")
    if init:  # the init file's statements run (`run._known_scripts` walks a known text)
        acc.read(init)
        acc.file(FileOp.EXEC, init)
    operands = parsed.operands
    if operands:
        acc.read(operands[0])
        acc.write(operands[0])
    acc.stdin_is_code = len(operands) <= 1
    for text in parsed.values("-cmd") + operands[1:]:
        _sql(acc, text, (".shell", ".system"))
        _sqlite_files(acc, text)
    return acc.build()


_PSQL = Grammar(
    "-c -d -f -h -p -U -o -L -v -P -F -R -T --command --dbname --file --host --port --username"
    " --output --log-file --set --variable --pset"
)


def _psql(name: str, args: Argv) -> Effects:
    parsed = parse(args, _PSQL)
    acc = Acc()
    commands = parsed.values("-c", "--command")
    for text in commands:
        _sql(acc, text, ("\\!",))
    scripts = parsed.values("-f", "--file")
    for script in scripts:
        if script != "-":
            acc.read(script)
            acc.file(FileOp.EXEC, script)
    acc.stdin_is_code = not commands and (not scripts or "-" in scripts)
    acc.write(*parsed.values("-o", "--output", "-L", "--log-file"))
    host = parsed.value("-h", "--host")
    uris = [w for w in parsed.operands if "://" in w]
    if host and not host.startswith("/"):
        acc.link(NetDirection.CONNECT, host, _int(parsed.value("-p", "--port")))
    for uri in uris:
        acc.link(NetDirection.CONNECT, uri)
    return acc.build()


_MYSQL = Grammar(
    "-e -h -P -u -D -S --execute --host --port --user --database --socket"
    " --defaults-file --defaults-extra-file --tee --init-command"
)


def _mysql(name: str, args: Argv) -> Effects:
    parsed = parse(args, _MYSQL)
    acc = Acc()
    statements = parsed.values("-e", "--execute")
    for text in statements + parsed.values("--init-command"):
        _sql(acc, text, ("\\!", "system "))
    acc.stdin_is_code = name != "mysqldump" and not statements
    acc.read(*parsed.values("--defaults-file", "--defaults-extra-file"))
    acc.write(*parsed.values("--tee"))
    host = parsed.value("-h", "--host")
    if host and host not in ("localhost",):
        acc.link(NetDirection.CONNECT, host, _int(parsed.value("-P", "--port")))
    if name == "mysqldump":
        acc.outputs_network = host is not None
    return acc.build()


_MONGO = Grammar(
    "--eval --host --port -u -p --username --password --file -f --authenticationDatabase"
)


def _mongo(name: str, args: Argv) -> Effects:
    parsed = parse(args, _MONGO)
    acc = Acc()
    for text in parsed.values("--eval"):
        acc.mark("sql", text)
    acc.read(*parsed.values("--file", "-f"))
    for operand in parsed.operands:
        if operand.endswith(".js"):
            acc.read(operand)
        elif "://" in operand or "/" in operand:
            acc.link(NetDirection.CONNECT, operand)
    host = parsed.value("--host")
    if host:
        acc.link(NetDirection.CONNECT, host, _int(parsed.value("--port")))
    return acc.build()


_REDIS = Grammar("-h -p -s -a -u -n -r -i -d --user --pass")


def _redis(name: str, args: Argv) -> Effects:
    parsed = parse(args, _REDIS)
    acc = Acc()
    if parsed.operands:
        acc.mark("sql", " ".join(parsed.operands))
    host = parsed.value("-h") or parsed.value("-u")
    if host:
        acc.link(NetDirection.CONNECT, host, _int(parsed.value("-p")))
    return acc.build()


def _int(text: str | None) -> int | None:
    return port_of(text)


HANDLERS: dict[str, Handler] = {
    "tar": _tar,
    "gtar": _tar,
    "bsdtar": _tar,
    "zip": _zip,
    "cpio": _cpio,
    "pax": _pax,
    "afio": _afio,
    "unzip": _unzip,
    "7z": _sevenzip,
    "7za": _sevenzip,
    "7zz": _sevenzip,
    "openssl": _openssl,
    "gpg": _gpg,
    "gpg2": _gpg,
    "sqlite3": _sqlite3,
    "sqlite": _sqlite3,
    "psql": _psql,
    "mysql": _mysql,
    "mariadb": _mysql,
    "mysqldump": _mysql,
    "mongo": _mongo,
    "mongosh": _mongo,
    "redis-cli": _redis,
}
HANDLERS.update(dict.fromkeys(_COMPRESSORS, _compress))
