#!/usr/bin/python3
"""Uses a page the way a person does, in headless Chromium: opens URL, types
a query into the search box, presses Enter, waits for the result list, and
takes a screenshot. Used by the search page's browser test and by
docs/serve-screenshot.sh, so the picture in the docs comes the tested way.

Chromium is driven through the DevTools protocol over --remote-debugging-pipe
(JSON messages ended by a NUL byte; Chromium reads commands on its fd 3 and
writes answers and events on its fd 4), so only Python's standard library is
needed.

  scripts/drive-page.py URL QUERY OUT.png [--mode hybrid|vector|bm25]
                        [--size 1200,900] [--browser chromium]

Prints one JSON object on stdout: the result list as the page shows it
(title, id, score, marked words), the page's messages, every script error,
console error and failed load, and every URL the page requested. Exits 2
with one "error: [page] ..." line when the page had a script error, showed
no results, or did not finish in time; the JSON is printed either way.
"""
import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, exe, width, height):
        # Our ends stay in this process; Chromium's ends become its fd 3 and
        # fd 4. Every descriptor is first moved to >= 10 so that the dup2s
        # below cannot overwrite one another.
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome_r, from_chrome_w)]
        for fd in (to_chrome_r, from_chrome_w):
            os.close(fd)

        def child_fds():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.profile = tempfile.mkdtemp(prefix="peft-chromium-")
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
                "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height)]
        # No close_fds: it would run after child_fds and close fds 3 and 4.
        # Every other descriptor of ours is close-on-exec (PEP 446).
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=child_fds, close_fds=False)
        for fd in high:
            os.close(fd)
        self.w = to_chrome_w
        self.r = from_chrome_r
        self.buf = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the browser")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("the browser closed its pipe (did it start?)")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def pump(self, seconds):
        """Collects events for up to `seconds`."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("query")
    ap.add_argument("png")
    ap.add_argument("--mode", default="hybrid", choices=["hybrid", "vector", "bm25"])
    ap.add_argument("--size", default="1200,900")
    ap.add_argument("--browser", default=os.environ.get("PEFT_BROWSER") or "chromium")
    ap.add_argument("--timeout", type=float, default=60, help="seconds to wait for the results")
    a = ap.parse_args()
    width, height = (int(x) for x in a.size.split(","))
    exe = shutil.which(a.browser) or a.browser
    if not os.path.exists(exe):
        print("error: [page] no browser '%s' (scripts/test-browser.sh installs chromium)" % a.browser, file=sys.stderr)
        return 2

    b = Browser(exe, width, height)
    report = {"url": a.url, "query": a.query, "mode": a.mode}
    problems = []
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Page", "Log", "Network"):
            b.send(domain + ".enable", session=s)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=s)

        def js(expr):
            r = b.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                       session=s)
            if "exceptionDetails" in r:
                raise RuntimeError("evaluating %s: %s" % (expr, r["exceptionDetails"].get("text")))
            return r["result"].get("value")

        def wait_for(expr, what):
            deadline = time.monotonic() + a.timeout
            while time.monotonic() < deadline:
                if js(expr):
                    return True
                b.pump(0.05)
            problems.append("timed out waiting for " + what)
            return False

        b.send("Page.navigate", {"url": a.url}, session=s)
        if wait_for("document.readyState === 'complete' && !!document.getElementById('q')", "the page to load") and \
           wait_for("document.getElementById('status').textContent !== ''", "the page's /health status line"):
            # Pick the mode as a person does (a click on its label), then
            # type and press Enter.
            js("document.querySelector('input[name=mode][value=%s]').closest('label').click()" % json.dumps(a.mode))
            js("document.getElementById('q').focus()")
            b.send("Input.insertText", {"text": a.query}, session=s)
            for kind in ("keyDown", "keyUp"):
                b.send("Input.dispatchKeyEvent",
                       {"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
                        "nativeVirtualKeyCode": 13, "text": "\r" if kind == "keyDown" else ""}, session=s)
            wait_for("['done', 'error'].includes(document.getElementById('results').dataset.state)", "the results")
            report["state"] = js("document.getElementById('results').dataset.state")
            report["status_line"] = js("document.getElementById('status').textContent")
            report["message"] = js("document.getElementById('message').textContent")
            report["address"] = js("location.href")
            report["results"] = js("""Array.from(document.querySelectorAll('#results li.result')).map(li => ({
                title: li.querySelector('.title').textContent,
                id: (li.querySelector('.id') || li.querySelector('.title')).textContent,
                score: li.querySelector('.score').textContent,
                marks: Array.from(li.querySelectorAll('mark')).map(m => m.textContent)}))""")
            b.pump(0.2)
            shot = b.send("Page.captureScreenshot", {"format": "png"}, session=s)
            with open(a.png, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
    except Exception as e:  # the browser failed us: say so in one line
        problems.append(str(e))
    finally:
        b.pump(0)
        errors, requests = [], []
        for ev in b.events:
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                errors.append("script error: " + (d.get("exception", {}).get("description") or d.get("text", "")))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                errors.append("console.error: " + " ".join(str(x.get("value", x.get("description", "")))
                                                           for x in p.get("args", [])))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append("log: " + p["entry"].get("text", ""))
            elif m == "Network.requestWillBeSent":
                requests.append(p.get("request", {}).get("url", ""))
        report["errors"] = errors
        report["requests"] = requests
        b.close()
    print(json.dumps(report, indent=1))
    problems += errors
    if not problems and report.get("state") != "done":
        problems.append("the page shows an error: %s" % report.get("message"))
    if not problems and not report.get("results"):
        problems.append("the page shows no results")
    if problems:
        print("error: [page] " + "; ".join(problems).replace("\n", " "), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
