# POP3 client as Outlook Express uses it: USER/PASS in the clear, then
# (MODE=fetch-delete) RETR and DELE every message and QUIT, or (MODE=stat)
# just STAT. SRC binds the client socket to a loopback source address.
# Prints "stat N" and one "subject: ..." line per message retrieved.
import os, poplib, socket, sys

HOST, PORT = os.environ["HOST"], int(os.environ["PORT"])
SRC = os.environ.get("SRC", "127.0.0.1")


class POP3(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(SRC, 0))


p = POP3(HOST, PORT, timeout=20)
p.user(os.environ["USER"])
p.pass_(os.environ["PASS"])
count, _ = p.stat()
print("stat", count)
if os.environ.get("MODE", "stat") == "fetch-delete":
    for i in range(1, count + 1):
        _, lines, _ = p.retr(i)
        for line in lines:
            if line.lower().startswith(b"subject:"):
                print("subject:", line[8:].strip().decode())
        p.dele(i)
p.quit()
