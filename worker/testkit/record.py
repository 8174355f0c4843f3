#!/usr/bin/env python3
"""Record the real Claude Code CLI TUI against the stand-in (fixtures).

Spawns `claude` in a 120x40 PTY with a fresh, pre-seeded CLAUDE_CONFIG_DIR,
a clean environment, ANTHROPIC_BASE_URL pointing at `anthropic-stand-in`
and http hooks pointing at a tiny listener in this process. Runs a scenario
(a list of steps), stops the capture while the screen shows the state and
writes:

  <out>/screens/<name>.bytes  raw PTY output bytes from spawn to the stop
  <out>/screens/<name>.txt    the screen rendered by `pyte` (120x40,
                              trailing blanks stripped)
  hook payloads: JSON lines in <workdir>/hooks.jsonl (printed at the end)

Steps: ["wait", regex, timeout_s] (on the rendered screen),
["send", text] (Python escapes allowed, e.g. "\\r", "\\x1b"),
["sleep", s], ["stop"].

usage: record.py NAME [--steps JSON] [--env K=V ...] [--args ...]
       [--perm-answer JSON] [--perm-delay S] [--keep]
Requires: pip install pyte; cargo build -p cockpit-testkit.
"""
import argparse, json, os, pty, re, select, shutil, signal, struct, subprocess
import sys, tempfile, termios, fcntl, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyte

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLAUDE = os.environ.get("CLAUDE_BIN", "/tmp/claudecli/node_modules/.bin/claude")
STAND_IN = os.path.join(ROOT, "target", "debug", "anthropic-stand-in")
FIXTURES = os.path.join(ROOT, "worker", "tests", "fixtures")
COLS, ROWS = 120, 40
SECRET = "test-hook-secret"
EVENTS = ["SessionStart", "UserPromptSubmit", "Stop", "StopFailure", "Notification",
          "PermissionRequest", "PreToolUse", "PostToolUse", "SessionEnd"]
READY = r"\? for shortcuts"

SCENARIOS = {
    "idle": [["wait", READY, 30], ["sleep", 1], ["stop"]],
    "working": [["wait", READY, 30], ["sleep", 1], ["send", "please go SLOW"], ["sleep", 0.3],
                ["send", "\r"], ["wait", "esc to interrupt", 20], ["sleep", 1], ["stop"]],
    "approval-bash": [["wait", READY, 30], ["sleep", 1], ["send", "please TOOLBASH now"], ["sleep", 0.3],
                      ["send", "\r"], ["wait", "Do you want to proceed", 20], ["sleep", 1], ["stop"]],
    "approval-write": [["wait", READY, 30], ["sleep", 1], ["send", "please TOOLWRITE now"], ["sleep", 0.3],
                       ["send", "\r"], ["wait", "Do you want to create", 20], ["sleep", 1], ["stop"]],
    "ratelimit-session": [["wait", READY, 30], ["sleep", 1], ["send", "please RL5H now"], ["sleep", 0.3],
                          ["send", "\r"], ["wait", "Stop and wait for limit", 20], ["sleep", 1], ["stop"]],
    "ratelimit-session-closed": [["wait", READY, 30], ["sleep", 1], ["send", "please RL5H now"], ["sleep", 0.3],
                                 ["send", "\r"], ["wait", "Stop and wait for limit", 20], ["sleep", 1],
                                 ["send", "\x1b"], ["sleep", 1.5], ["stop"]],
    "ratelimit-weekly": [["wait", READY, 30], ["sleep", 1], ["send", "please RLWEEK now"], ["sleep", 0.3],
                         ["send", "\r"], ["wait", "weekly limit", 20], ["sleep", 1.5], ["stop"]],
    "transient-429": [["wait", READY, 30], ["sleep", 1], ["send", "please RL429 now"], ["sleep", 0.3],
                      ["send", "\r"], ["wait", "not your usage limit", 60], ["sleep", 1.5], ["stop"]],
    "overloaded-529": [["wait", READY, 30], ["sleep", 1], ["send", "please OVERLOAD now"], ["sleep", 0.3],
                       ["send", "\r"], ["wait", "API Error: 529", 60], ["sleep", 1.5], ["stop"]],
    "needs-login": [["wait", READY, 30], ["sleep", 1], ["send", "please AUTH401 now"], ["sleep", 0.3],
                    ["send", "\r"], ["wait", "/login", 60], ["sleep", 1.5], ["stop"]],
    "usage-warning": [["wait", READY, 30], ["sleep", 1], ["send", "please WARN93 now"], ["sleep", 0.3],
                      ["send", "\r"], ["wait", "used 93%", 20], ["sleep", 1.5], ["stop"]],
    "idle-after-reply": [["wait", READY, 30], ["sleep", 1], ["send", "hello there"], ["sleep", 0.3],
                         ["send", "\r"], ["wait", "Stand-in reply #1", 20], ["wait", READY, 20],
                         ["sleep", 1], ["stop"]],
}
# Scenarios that need fewer retries so that they finish in seconds.
SCENARIO_ENV = {"transient-429": {"CLAUDE_CODE_MAX_RETRIES": "2"},
                "overloaded-529": {"CLAUDE_CODE_MAX_RETRIES": "2"},
                "needs-login": {"CLAUDE_CODE_MAX_RETRIES": "2"}}

T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:7.2f}] {msg}", file=sys.stderr, flush=True)


class HookServer:
    """Logs every hook POST; answers PermissionRequest with a configured body."""

    def __init__(self, path, perm_answer, perm_delay):
        self.path, self.perm_answer, self.perm_delay = path, perm_answer, perm_delay
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(n)
                event = self.path.rsplit("/", 1)[-1]
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = raw.decode("utf-8", "replace")
                rec = {"t": round(time.time() - T0, 3), "event": event,
                       "secret_ok": self.headers.get("X-Cockpit-Hook-Secret") == SECRET,
                       "payload": payload}
                with open(outer.path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                log(f"hook {event} {json.dumps(payload)[:160]}")
                body = b"{}"
                if event == "PermissionRequest":
                    if outer.perm_delay:
                        time.sleep(outer.perm_delay)
                    body = outer.perm_answer.encode()
                    log(f"hook PermissionRequest answered {outer.perm_answer}")
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def start_stand_in():
    p = subprocess.Popen([STAND_IN, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return p, line[len("listening on "):]


def seed(home, cwd, hook_port, timeout):
    cfg = os.path.join(home, ".claude")
    os.makedirs(cfg)
    with open(os.path.join(cfg, ".claude.json"), "w") as f:
        json.dump({"hasCompletedOnboarding": True, "lastOnboardingVersion": "2.1.197", "theme": "dark",
                   "projects": {cwd: {"hasTrustDialogAccepted": True, "projectOnboardingSeenCount": 1}}}, f)
    hooks = {ev: [{"hooks": [{"type": "http", "url": f"http://127.0.0.1:{hook_port}/hooks/{ev}",
                              "headers": {"X-Cockpit-Hook-Secret": SECRET}, "timeout": timeout}]}]
             for ev in EVENTS}
    # HTTP hooks are not supported for SessionStart (the CLI logs "HTTP hooks
    # are not supported for SessionStart"): use a command hook that POSTs.
    hooks["SessionStart"] = [{"hooks": [{"type": "command", "timeout": timeout, "command":
        f"curl -s -m 5 -X POST -H 'content-type: application/json' -H 'X-Cockpit-Hook-Secret: {SECRET}' "
        f"--data-binary @- http://127.0.0.1:{hook_port}/hooks/SessionStart"}]}]
    settings = os.path.join(home, "cockpit-settings.json")
    with open(settings, "w") as f:
        json.dump({"hooks": hooks}, f, indent=1)
    return cfg, settings


def render(data):
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    stream.feed(data)
    lines = [l.rstrip() for l in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--steps")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--args", nargs=argparse.REMAINDER, default=[])
    ap.add_argument("--perm-answer", default="{}")
    ap.add_argument("--perm-delay", type=float, default=0)
    ap.add_argument("--hook-timeout", type=int, default=30)
    ap.add_argument("--out", default=FIXTURES)
    ap.add_argument("--workdir")
    ap.add_argument("--base-url")
    ap.add_argument("--token", default="sk-ant-oat01-test-A")
    a = ap.parse_args()
    steps = json.loads(a.steps) if a.steps else SCENARIOS[a.name]

    work = a.workdir or tempfile.mkdtemp(prefix="cc-rec-")
    home = os.path.join(work, "home")
    cwd = os.path.join(work, "proj")
    os.makedirs(cwd, exist_ok=True)
    hooks = HookServer(os.path.join(work, "hooks.jsonl"), a.perm_answer, a.perm_delay)
    stand = None
    base = a.base_url
    if not base:
        stand, base = start_stand_in()
    if not os.path.exists(os.path.join(home, ".claude")):
        os.makedirs(home, exist_ok=True)
        seed(home, cwd, hooks.port, a.hook_timeout)
    else:  # re-use (resume experiments): rewrite the hook port
        seed_settings = os.path.join(home, "cockpit-settings.json")
        s = open(seed_settings).read()
        s = re.sub(r"127\.0\.0\.1:\d+/hooks", f"127.0.0.1:{hooks.port}/hooks", s)
        open(seed_settings, "w").write(s)
    settings = os.path.join(home, "cockpit-settings.json")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TERM": "xterm-256color", "TZ": "UTC",
           "LANG": "C.UTF-8", "CLAUDE_CONFIG_DIR": os.path.join(home, ".claude"),
           "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "ANTHROPIC_BASE_URL": base}
    if a.token:
        env["CLAUDE_CODE_OAUTH_TOKEN"] = a.token
    env.update(SCENARIO_ENV.get(a.name, {}))
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    argv = [CLAUDE, "--settings", settings] + a.args
    log(f"work={work} base={base} argv={argv[1:]}")

    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    data = bytearray()
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)

    def pump(t):
        end = time.time() + t
        while True:
            left = end - time.time()
            if left <= 0:
                return
            r, _, _ = select.select([fd], [], [], min(left, 0.05))
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                data.extend(chunk)
                stream.feed(chunk)

    def text():
        return "\n".join(screen.display)

    ok = True
    for step in steps:
        kind = step[0]
        if kind == "wait":
            end = time.time() + step[2]
            while time.time() < end and not re.search(step[1], text()):
                pump(0.1)
            found = bool(re.search(step[1], text()))
            log(f"wait {step[1]!r}: {'ok' if found else 'TIMEOUT'}")
            ok &= found
        elif kind == "send":
            b = step[1].encode("utf-8").decode("unicode_escape").encode("latin-1") \
                if "\\" in step[1] else step[1].encode()
            os.write(fd, b)
            log(f"send {b!r}")
        elif kind == "sleep":
            pump(step[1])
        elif kind == "stop":
            break
    raw = bytes(data)
    os.makedirs(os.path.join(a.out, "screens"), exist_ok=True)
    with open(os.path.join(a.out, "screens", a.name + ".bytes"), "wb") as f:
        f.write(raw)
    with open(os.path.join(a.out, "screens", a.name + ".txt"), "w") as f:
        f.write(render(raw))
    log(f"wrote {a.name}: {len(raw)} bytes, ok={ok}")
    print(render(raw))
    os.kill(pid, signal.SIGTERM)
    pump(1.5)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    time.sleep(0.3)
    if stand:
        stand.terminate()
    print(f"hooks log: {hooks.path}  work: {work}", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
