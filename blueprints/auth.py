"""Accounts: register with a mailed code, log in and out, and the login_required decorator."""
import functools
import ipaddress
import math
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, jsonify, redirect, render_template,
                   request, url_for)
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

import limits
from blueprints.forms import (USERNAME_TAKEN, CaptchaForm, LoginForm, RegisterForm, mailbox,
                              username_taken)
from blueprints.sessions import log_in, log_out_everywhere, session_user
from exts import db
from limits import Limit
from mailqueue.handoff import MailNotSent, hand_over_code
from models import EmailCaptchaModel, UserModel, utcnow

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.before_app_request
def load_logged_in_user():
    """g.user: the id, username and session token of the session's user, or None."""
    if request.endpoint == "static":
        g.user = None
        return
    g.user = session_user()


def login_required(view):
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            flash("Please log in first.", "warning")
            target = request.full_path if request.method == "GET" else None
            return redirect(url_for("auth.login", next=target.rstrip("?") if target else None))
        return view(**kwargs)

    return wrapped


def safe_next(target):
    """*target* if it is a path on this site, else None: ?next= must not send users away."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def first_error(form):
    for errors in form.errors.values():
        if errors:
            return errors[0]
    return "Invalid request."


def client_address():
    """Who is asking, for per-client limits: an IPv6 client holds a whole /64, so it counts
    as one. (Behind a proxy, REMOTE_ADDR must be the client's: see the README.)"""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def code_mail_limits():
    """(limit, whose, what to say when it is reached) for one code mail, in the order they
    are taken: the mailbox first, so that a mailbox's own wait costs the rest nothing."""
    config = current_app.config
    return [
        (Limit("code-resend", 1, config["CAPTCHA_RESEND_SECONDS"]), "mailbox",
         "A code was just sent. Try again in {seconds} s."),
        (Limit("code-mailbox", *config["CODE_MAILS_PER_MAILBOX"]), "mailbox",
         "Too many codes were sent to this address. Try again in {minutes}."),
        (Limit("code-client", *config["CODE_MAILS_PER_CLIENT"]), "client",
         "Too many codes were asked for from your network. Try again in {minutes}."),
        (Limit("code-site", *config["CODE_MAILS_PER_SITE"]), "site",
         "Too many codes are being sent right now. Try again in {minutes}."),
    ]


def minutes(seconds):
    count = math.ceil(seconds / 60)
    return f"{count} minute{'' if count == 1 else 's'}"


@bp.route("/captcha/email", methods=["POST"])
def captcha_email():
    form = CaptchaForm()
    if not form.validate():
        return jsonify(code=400, message=first_error(form)), 400
    email = form.email.data
    identities = {"mailbox": mailbox(email), "client": client_address(), "site": "all"}
    uses = []
    try:
        for limit, kind, message in code_mail_limits():
            uses.append(limits.take(limit, identities[kind]))
    except limits.Limited as exc:
        release(uses)
        wait = exc.retry_after
        message = message.format(seconds=wait, minutes=minutes(wait))
        response = jsonify(code=429, message=message, retry_after=wait)
        response.headers["Retry-After"] = str(wait)
        return response, 429

    config = current_app.config
    now = utcnow()
    # A registered address gets the same answer, and its owner a notice instead of a code:
    # this page must not tell a stranger who has an account.
    registered = db.session.scalar(select(UserModel.id).where(UserModel.email == email))
    code = None if registered else f"{secrets.randbelow(10**6):06d}"
    try:
        # Sent now, within MAIL_TIMEOUT, or, with a broker, queued for the mail worker.
        hand_over_code(email, code, now + timedelta(seconds=config["CAPTCHA_TTL_SECONDS"]))
    except MailNotSent as exc:
        current_app.logger.error("could not send the code to %s: %s", email, exc)
        # A mail that was not sent uses up no limit: the 60-second wait does not start.
        release(uses)
        return jsonify(code=503, message="The email could not be sent. Please try again later."), 503
    except BaseException:
        release(uses)
        raise
    if code is not None:
        # Stored once the mail is on its way, never for a mail that failed. Codes a day old
        # are long expired; a day's margin still tells "expired" from "never sent".
        db.session.execute(delete(EmailCaptchaModel).where(
            EmailCaptchaModel.create_time < now - timedelta(days=1)))
        db.session.add(EmailCaptchaModel(email=email, captcha=code, create_time=now))
        db.session.commit()
    minutes_valid = config["CAPTCHA_TTL_SECONDS"] // 60
    return jsonify(code=200, message=f"We sent an email to {email}. Codes are valid for "
                                     f"{minutes_valid} minutes.")


def release(uses):
    for use in uses:
        use.release()


def check_captcha(email, code):
    """Use up the newest code mailed to *email* if it is *code*; else the reason it is refused."""
    config = current_app.config
    captcha = db.session.scalars(
        select(EmailCaptchaModel).where(EmailCaptchaModel.email == email)
        .order_by(EmailCaptchaModel.create_time.desc(), EmailCaptchaModel.id.desc()).limit(1)
    ).first()
    max_attempts = config["CAPTCHA_MAX_ATTEMPTS"]
    if captcha is None:
        return "No code was sent to this email: press “Send code” first."
    if captcha.used:
        return "This code has already been used: ask for a new one."
    if captcha.create_time < utcnow() - timedelta(seconds=config["CAPTCHA_TTL_SECONDS"]):
        return "This code has expired: ask for a new one."
    # The try is counted before the comparison, by an UPDATE that only succeeds while tries
    # are left: parallel requests cannot compare more than max_attempts codes between them.
    counted = db.session.execute(
        update(EmailCaptchaModel)
        .where(EmailCaptchaModel.id == captcha.id, EmailCaptchaModel.used.is_(False),
               EmailCaptchaModel.attempts < max_attempts)
        .values(attempts=EmailCaptchaModel.attempts + 1))
    db.session.commit()
    if counted.rowcount != 1:
        db.session.refresh(captcha)
        if captcha.used:
            return "This code has already been used: ask for a new one."
        return "Too many wrong codes: ask for a new one."
    if not secrets.compare_digest(captcha.captcha, code):
        db.session.refresh(captcha)
        left = max_attempts - captcha.attempts
        if left <= 0:
            return "Wrong code, and that was the last try: ask for a new one."
        return f"Wrong code: {left} {'try' if left == 1 else 'tries'} left."
    # Only one request can flip used from false to true: the code works once.
    used = db.session.execute(
        update(EmailCaptchaModel)
        .where(EmailCaptchaModel.id == captcha.id, EmailCaptchaModel.used.is_(False))
        .values(used=True))
    if used.rowcount != 1:
        db.session.rollback()
        return "This code has already been used: ask for a new one."
    return None


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        problem = check_captcha(form.email.data, form.captcha.data)
        if problem is None:
            user = UserModel(email=form.email.data, username=form.username.data)
            user.set_password(form.password.data)
            db.session.add(user)
            try:
                # One transaction with the code's use: a failed insert leaves the code unused.
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                # Another request took the name or the email since the form was checked.
                if username_taken(form.username.data):
                    form.username.errors.append(USERNAME_TAKEN)
                else:
                    form.email.errors.append("This email is already registered: log in instead.")
            else:
                flash("Welcome! Your account is ready: log in with your email and password.",
                      "success")
                return redirect(url_for("auth.login", email=user.email))
        else:
            form.captcha.errors.append(problem)
    elif request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:200]
    status = 400 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        status, problem = attempt_login(form.email.data, form.password.data)
        if problem is None:
            flash(f"Welcome back, {g.user.username}!", "success")
            return redirect(next_url or url_for("qa.index"))
        form.password.errors.append(problem)
    elif request.method == "POST":
        status = 400
    elif request.args.get("email"):
        form.email.data = request.args["email"][:200]
    return render_template("auth/login.html", form=form, next_url=next_url), status


def attempt_login(email, password):
    """Log in if allowed and right: (status, None), or (status, the message to show)."""
    config = current_app.config
    limit = Limit("login", config["LOGIN_MAX_FAILURES"], config["LOGIN_WINDOW_SECONDS"])
    try:
        # A slot per password check, taken before the check: parallel requests cannot check
        # more passwords than the limit between them. Unknown emails count alike.
        use = limits.take(limit, email)
    except limits.Limited as exc:
        return 429, (f"Too many failed logins for this email. Try again in "
                     f"{minutes(exc.retry_after)}.")

    user = db.session.scalars(select(UserModel).where(UserModel.email == email)).first()
    if user is not None and user.check_password(password):
        limits.forget(limit, email)
        log_in(user)
        g.user = user
        return 200, None
    if user is None:
        UserModel.check_no_password(password)
    if use.left <= 0:
        return 429, (f"Wrong email or password. Too many failed logins: wait "
                     f"{minutes(limit.seconds)}.")
    return 400, "Wrong email or password."


@bp.route("/logout", methods=["POST"])
def logout():
    # Every copy of the cookie, on every device, stops working, not only this browser's.
    log_out_everywhere(g.user)
    flash("You are logged out.", "info")
    return redirect(url_for("qa.index"))
