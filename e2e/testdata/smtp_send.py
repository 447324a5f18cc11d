# Sends one message with smtplib. SRC binds the client socket to a loopback
# source address; AUTH_USER/AUTH_PASS log in (after STARTTLS if STARTTLS=1;
# over implicit TLS if SSL=1). Prints "sent" or "refused CODE MESSAGE" and
# exits 0 or 3.
import os, smtplib, ssl, sys

HOST, PORT = os.environ["HOST"], int(os.environ["PORT"])
SRC = os.environ.get("SRC", "127.0.0.1")
FROM, TO = os.environ["FROM"], os.environ["TO"].split(",")
SUBJECT = os.environ.get("SUBJECT", "e2e")
msg = "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nHello from the e2e test.\r\n" % (FROM, TO[0], SUBJECT)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

try:
    if os.environ.get("SSL") == "1":
        s = smtplib.SMTP_SSL(HOST, PORT, source_address=(SRC, 0), timeout=20, context=ctx)
    else:
        s = smtplib.SMTP(HOST, PORT, source_address=(SRC, 0), timeout=20)
    s.ehlo("client.test")
    if os.environ.get("STARTTLS") == "1":
        s.starttls(context=ctx)
        s.ehlo("client.test")
    if os.environ.get("AUTH_USER"):
        s.login(os.environ["AUTH_USER"], os.environ["AUTH_PASS"])
    s.sendmail(FROM, TO, msg)
    s.quit()
except smtplib.SMTPRecipientsRefused as e:
    code, text = list(e.recipients.values())[0]
    print("refused", code, text.decode(errors="replace"))
    sys.exit(3)
except smtplib.SMTPResponseException as e:
    print("refused", e.smtp_code, e.smtp_error.decode(errors="replace"))
    sys.exit(3)
print("sent")
