#!/usr/bin/env python3
"""Regenerates registry/nginx.rs by probing the installed nginx -t (Debian nginx-extras 1.22.1).

Steps: (1) candidate names = identifier strings of the nginx binary and the stream/mail
modules, with every "_"-suffix (the linker merges string tails), plus crossplane's table
names; a name is a directive unless `NAME;` gives `unknown directive`. (2) each directive in
each of the 14 contexts: `not allowed here` or not, `has no opening "{"` (a block) or not.
(3) 0..8 arguments in each allowed context: `invalid number of arguments` or not; a
`must be "on" or "off"` answer with one argument marks a flag. (4) twice in a row with a few
plausible values: `is duplicate` marks a directive that may not repeat.
Run: python3 gen_nginx_table.py > nginx.rs (needs nginx, ~3 minutes on 2 cores).
"""
import subprocess, sys, os, tempfile, json
from concurrent.futures import ThreadPoolExecutor
HEAD = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nload_module /usr/lib/nginx/modules/ngx_mail_module.so;\n"
def run(conf, i):
    d = f"/tmp/probe/w/{i}"
    os.makedirs(d, exist_ok=True)
    p = f"{d}/n.conf"
    open(p, "w").write(HEAD + conf)
    r = subprocess.run(["/usr/sbin/nginx", "-t", "-q", "-p", d + "/", "-c", p, "-e", "/dev/null"],
                       capture_output=True, text=True)
    lines = [l for l in r.stderr.splitlines() if "[emerg]" in l]
    return lines[0].split("[emerg] ", 1)[1] if lines else "OK"
CTX = {
 "main": "{d}\n", "events": "events {{ {d} }}\n", "http": "http {{ {d} }}\n",
 "http_srv": "http {{ server {{ {d} }} }}\n",
 "http_loc": "http {{ server {{ location / {{ {d} }} }} }}\n",
 "http_sif": "http {{ server {{ if ($host) {{ {d} }} }} }}\n",
 "http_lif": "http {{ server {{ location / {{ if ($host) {{ {d} }} }} }} }}\n",
 "http_lmt": "http {{ server {{ location / {{ limit_except GET {{ {d} }} }} }} }}\n",
 "http_ups": "http {{ upstream u {{ {d} }} }}\n",
 "mail": "mail {{ {d} }}\n", "mail_srv": "mail {{ server {{ {d} }} }}\n",
 "stream": "stream {{ {d} }}\n", "stream_srv": "stream {{ server {{ {d} }} }}\n",
 "stream_ups": "stream {{ upstream u {{ {d} }} }}\n",
}
CT = {"main": "MAIN", "events": "EVENTS", "http": "HTTP_MAIN", "http_srv": "HTTP_SRV",
      "http_loc": "HTTP_LOC", "http_sif": "HTTP_SIF", "http_lif": "HTTP_LIF",
      "http_lmt": "HTTP_LMT", "http_ups": "HTTP_UPS", "mail": "MAIL_MAIN",
      "mail_srv": "MAIL_SRV", "stream": "STREAM_MAIN", "stream_srv": "STREAM_SRV",
      "stream_ups": "STREAM_UPS"}


def probe_all(confs):
    with ThreadPoolExecutor(4) as ex:
        return list(ex.map(lambda t: run(t[1], t[0]), enumerate(confs)))


def candidates():
    import re, subprocess
    names = set()
    for f in ["/usr/sbin/nginx", "/usr/lib/nginx/modules/ngx_stream_module.so",
              "/usr/lib/nginx/modules/ngx_mail_module.so"]:
        out = subprocess.run(["strings", "-n", "2", f], capture_output=True, text=True).stdout
        for n in out.split():
            for i in range(len(n)):
                if re.fullmatch(r"[a-z][a-z0-9_]+", n[i:]):
                    names.add(n[i:])
    try:
        from crossplane.analyzer import DIRECTIVES
        names |= set(DIRECTIVES)
    except ImportError:
        pass
    return sorted(names)


def mask(n, info):
    ks = {k for k in range(9) if 'invalid number of arguments in "%s"' % n not in info[k]}
    if 'it must be "on" or "off"' in info[1] and ks == {1}:
        m = ["FLAG"]
    elif ks == set(range(9)):
        m = ["ANY"]
    elif ks == set(range(1, 9)):
        m = ["ONE_MORE"]
    elif ks == set(range(2, 9)):
        m = ["TWO_MORE"]
    else:
        m = ["NOARGS" if k == 0 else "TAKE%d" % k for k in sorted(ks)]
    if info["block"]:
        m.append("BLOCK")
    return m


def main():
    # (1) directive names
    names = candidates()
    res = probe_all([n + ";\n" for n in names])
    names = [n for n, r in zip(names, res) if not r.startswith("unknown directive")]

    # (2) contexts
    jobs = [(n, c) for n in names for c in CTX]
    res = probe_all([CTX[c].format(d=n + ";") for n, c in jobs])
    allowed = {}
    for (n, c), r in zip(jobs, res):
        if not (r.startswith('"%s"' % n) and "is not allowed here" in r):
            allowed.setdefault(n, {})[c] = {"block": 'has no opening "{"' in r}

    # (3) argument counts
    jobs = []
    for n, cs in allowed.items():
        for c, info in cs.items():
            for k in range(9):
                args = " ".join(["bogus"] + ["a"] * (k - 1)) if k else ""
                d = f"{n} {args}".strip()
                d = d + " { }" if info["block"] else d + ";"
                jobs.append((n, c, k, CTX[c].format(d=d)))
    res = probe_all([j[3] for j in jobs])
    for (n, c, k, _), r in zip(jobs, res):
        allowed[n][c][k] = r

    # (4) repeats
    rows = []
    for n in sorted(allowed):
        groups = {}
        for c, info in allowed[n].items():
            if not c.startswith("stream"):
                groups.setdefault(tuple(mask(n, info)), []).append(c)
        for m, cs in groups.items():
            rows.append((n, cs, m))
    once = set()
    jobs = []
    for row, (n, cs, m) in enumerate(rows):
        if "BLOCK" in m:
            if n in ("events", "http", "mail"):
                once.add(row)
            continue
        vals = ["on"] if m == ("FLAG",) else [""] if m[0] == "NOARGS" else \
            ["10", "10s", "on", "off", "1k", "127.0.0.1", "root", "/tmp/x"]
        for v in vals:
            d = (f"{n} {v};" if v else f"{n};")
            jobs.append((row, n, CTX[cs[0]].format(d=d + " " + d)))
    res = probe_all([j[2] for j in jobs])
    for (row, n, _), r in zip(jobs, res):
        if r.startswith('"%s" directive is duplicate' % n):
            once.add(row)
    # No probe value passes http proxy_pass's handler, whose repeat is `is duplicate`.
    once |= {row for row, (n, cs, m) in enumerate(rows) if n == "proxy_pass"}

    # emit
    def bits(t, parts):
        return parts[0] if len(parts) == 1 else t + "(" + " | ".join(p + ".0" for p in parts) + ")"
    for row, (n, cs, m) in enumerate(rows):
        ctx = bits("Contexts", [CT[c] for c in cs])
        print(f'    nginx("{n}", {ctx}, {bits("Args", list(m))}, '
              f'{"ONCE" if row in once else "MANY"}),')


if __name__ == "__main__":
    main()
