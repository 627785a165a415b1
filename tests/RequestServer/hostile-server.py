#!/usr/bin/env python3
# hostile-server.py PORTFILE — a small HTTP server that misbehaves on
# purpose, one thread per connection; prints its port into PORTFILE.
#   /bad-status   a status line that is not HTTP
#   /huge-header  a 1 MB header line, then a body
#   /many-headers 20,000 header lines (1 MB in all)
#   /600-headers  600 short header lines (under libcurl's limits, over the service's)
#   /short        Content-Length 100000, 10 bytes, then close
#   /stall        headers and 5 bytes, then nothing for 30 s
#   /nul          a header with a NUL byte
import socket, sys, threading, time

def handle(c):
    try:
        req = b""
        while b"\r\n\r\n" not in req:
            d = c.recv(4096)
            if not d:
                return
            req += d
        path = req.split(b" ")[1].decode()
        if path == "/bad-status":
            c.sendall(b"HTTX/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\nhi")
        elif path == "/huge-header":
            c.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (1 << 20) + b"\r\nContent-Length: 2\r\n\r\nhi")
        elif path == "/many-headers":
            c.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 40) for i in range(20000)) +
                      b"Content-Length: 2\r\n\r\nhi")
        elif path == "/600-headers":
            c.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(600)) +
                      b"Content-Length: 2\r\n\r\nhi")
        elif path == "/short":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789")
        elif path == "/stall":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart")
            time.sleep(30)
        elif path == "/nul":
            c.sendall(b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 2\r\n\r\nhi")
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
