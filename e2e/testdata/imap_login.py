# Logs in over IMAP with STARTTLS. USER and PASS come from the
# environment. Prints "ok" and exits 0, or "refused MESSAGE" and exits 3.
import imaplib, os, ssl

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = imaplib.IMAP4(os.environ["HOST"], int(os.environ["PORT"]), timeout=30)
c.starttls(ssl_context=ctx)
try:
    c.login(os.environ["USER"], os.environ["PASS"])
except imaplib.IMAP4.error as e:
    print("refused", e)
    raise SystemExit(3)
print("ok")
c.logout()
