# Drives Roundcube (elastic skin) in headless chromium as a webmail user,
# for TestRoundcube. Everything comes from the environment (passwords are
# never on argv): RC_URL, CHROMIUM, CHROMEDRIVER, ARTIFACTS (where a
# failure leaves a screenshot and the page source), ALICE, ALICE_PASS, BOB,
# BOB_PASS, BOB_NEW_PASS, REMOTE. Each step waits for what the user would
# see (WebDriverWait, generous timeouts for a loaded machine), never for
# a fixed time. Prints one line per step; exits 1 on the first failure.
import os
import sys
import traceback

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

E = os.environ
URL = E["RC_URL"]
TIMEOUT = 120  # seconds for one step's wait

step = "start"


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = E["CHROMIUM"]
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--window-size=1400,1000", "--lang=en-US"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(executable_path=E["CHROMEDRIVER"]), options=opts)
    d.set_page_load_timeout(TIMEOUT)
    d.set_script_timeout(TIMEOUT)
    return d


def wait(what, cond):
    """Waits until cond(driver) is true; what names it in the error."""
    global step
    step = what
    return WebDriverWait(drv, TIMEOUT, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,)).until(cond, what)


def idle(d):
    """Roundcube is loaded and has no request in flight."""
    return d.execute_script(
        "return document.readyState == 'complete' && !!window.rcmail && !!rcmail.env.task && !rcmail.busy")


def goto(params, what):
    drv.get(URL + "?" + params)
    wait(what, idle)


def element(css, what):
    return wait(what, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), False))


def list_text(d):
    rows = d.find_elements(By.CSS_SELECTOR, "#messagelist tbody tr")
    return " | ".join(r.text for r in rows)


def in_list(subject, present=True):
    return wait("message list %s %r" % ("shows" if present else "lacks", subject),
                lambda d: idle(d) and ((subject in list_text(d)) == present))


def row(subject):
    return wait("row of %r" % subject, lambda d: next(
        (r for r in d.find_elements(By.CSS_SELECTOR, "#messagelist tbody tr") if subject in r.text), False))


def select(subject):
    """Clicks the message's row, as a user selects it."""
    r = row(subject)
    r.find_element(By.CSS_SELECTOR, "span.subject").click()
    wait("selection of %r" % subject,
         lambda d: d.execute_script("return rcmail.message_list.get_selection().length == 1"))
    wait("idle after selecting %r" % subject, idle)


def login(user, password):
    goto("_task=login", "login page")
    element("#rcmloginuser", "user field").send_keys(user)
    element("#rcmloginpwd", "password field").send_keys(password)
    element("#rcmloginsubmit", "login button").click()
    wait("mailbox of %s after login" % user,
         lambda d: idle(d) and d.execute_script("return rcmail.env.task == 'mail' && !!rcmail.message_list"))


def logout():
    element("a.logout", "logout button").click()
    wait("login form after logout", lambda d: idle(d) and d.find_elements(By.ID, "rcmloginuser"))


def read(subject, body):
    """Opens the message as a user does (double-click) and waits for its body."""
    ActionChains(drv).double_click(row(subject).find_element(By.CSS_SELECTOR, "span.subject")).perform()
    wait("body of %r containing %r" % (subject, body), lambda d: idle(d) and any(
        body in e.text for e in d.find_elements(By.ID, "messagebody")))


def compose(to, subject, body):
    goto("_task=mail&_action=compose", "compose form")
    rcpt = element("ul.recipient-input input", "recipient input")
    rcpt.send_keys(to + ", ")
    wait("recipient %s taken" % to, lambda d: to in d.find_element(By.ID, "_to").get_attribute("value"))
    element("#compose-subject", "subject field").send_keys(subject)
    element("#composebody", "body field").send_keys(body)
    element("button.btn.send", "send button").click()
    wait("message %r sent" % subject, lambda d: idle(d) and d.execute_script(
        "return rcmail.env.task == 'mail' && rcmail.env.action != 'compose'"))


def search(term, want, unwanted):
    box = element("#mailsearchform", "search box")
    box.clear()
    box.send_keys(term + Keys.ENTER)
    wait("search %r finds %r without %r" % (term, want, unwanted),
         lambda d: idle(d) and d.execute_script("return !!rcmail.env.search_request")
         and want in list_text(d) and unwanted not in list_text(d))


def main():
    alice, bob, remote = E["ALICE"], E["BOB"], E["REMOTE"]

    login(alice, E["ALICE_PASS"])
    print("logged in as", alice)
    in_list("greetings from swaks")
    read("greetings from swaks", "kumquat")
    print("read the message swaks delivered")

    compose(bob, "webmail to bob", "hello bob, the marker is quince")
    compose(remote, "webmail to remote", "hello remote, the marker is medlar")
    print("sent to a local and a remote user")

    goto("_task=mail&_mbox=Sent", "Sent folder")
    in_list("webmail to bob")
    in_list("webmail to remote")
    print("both in Sent")

    select("webmail to bob")
    element("a.delete", "delete button").click()
    in_list("webmail to bob", present=False)
    goto("_task=mail&_mbox=Trash", "Trash folder")
    in_list("webmail to bob")
    print("moved to Trash")

    element("a.sidebar-menu", "folder actions button").click()
    element("a.purge.active", "empty folder menu item").click()
    element(".ui-dialog button.mainaction", "confirmation of emptying Trash").click()
    in_list("webmail to bob", present=False)
    wait("Trash empty", lambda d: idle(d) and d.execute_script("return rcmail.env.messagecount == 0"))
    print("emptied Trash")

    goto("_task=settings&_action=folders", "folder settings")
    element("a.create", "create folder button").click()
    wait("folder form", lambda d: d.find_elements(By.ID, "preferences-frame"))
    drv.switch_to.frame("preferences-frame")
    element("input[name=_name]", "folder name field").send_keys("Projects")
    wait("folder form ready", idle)
    element("button.submit", "Save button").click()
    drv.switch_to.default_content()
    wait("folder Projects listed", lambda d: idle(d) and any(
        "Projects" in e.text for e in d.find_elements(By.ID, "subscription-table")))
    print("created a folder")

    goto("_task=mail&_mbox=INBOX", "INBOX")
    in_list("another letter")
    search("greetings", "greetings from swaks", "another letter")
    print("found by subject")
    search("kumquat", "greetings from swaks", "another letter")
    print("found by body")
    goto("_task=mail&_mbox=INBOX", "INBOX")

    select("greetings from swaks")
    element("a.markmessage", "mark menu button").click()
    element("a.flag.active", "flag menu item").click()
    wait("row flagged", lambda d: "flagged" in row("greetings from swaks").get_attribute("class").split())
    print("flagged")

    logout()
    print("logged out")

    login(bob, E["BOB_PASS"])
    in_list("webmail to bob")
    read("webmail to bob", "quince")
    print("read as", bob)

    goto("_task=settings&_action=plugin.password", "password settings")
    element("#curpasswd", "current password field").send_keys(E["BOB_PASS"])
    element("#newpasswd", "new password field").send_keys(E["BOB_NEW_PASS"])
    element("#confpasswd", "confirmation field").send_keys(E["BOB_NEW_PASS"])
    element("button.mainaction", "save button").click()
    wait("password saved", lambda d: idle(d) and "Successfully saved" in d.find_element(By.TAG_NAME, "body").text)
    print("changed the password")
    logout()
    login(bob, E["BOB_NEW_PASS"])
    in_list("webmail to bob")
    print("logged in with the new password")
    logout()


def keep(name):
    """Saves a screenshot and the page source into ARTIFACTS."""
    os.makedirs(E["ARTIFACTS"], exist_ok=True)
    png = os.path.join(E["ARTIFACTS"], name + ".png")
    html = os.path.join(E["ARTIFACTS"], name + ".html")
    try:
        drv.switch_to.default_content()
        drv.save_screenshot(png)
        with open(html, "w") as f:
            f.write(drv.page_source)
        print("screenshot:", png)
        print("page source:", html)
    except Exception as e:  # the browser may be what failed
        print("no screenshot:", e)


drv = browser()
try:
    main()
    print("done")
except Exception:
    print("FAILED at step:", step)
    traceback.print_exc(file=sys.stdout)
    keep("roundcube-failure")
    sys.exit(1)
finally:
    drv.quit()
