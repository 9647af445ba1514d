"""Accounts: register with a mailed code, log in and out, and the login_required decorator."""
import functools
import math
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, jsonify, redirect, render_template,
                   request, url_for)
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from blueprints.forms import (USERNAME_TAKEN, CaptchaForm, LoginForm, RegisterForm,
                              username_taken)
from blueprints.sessions import log_in, log_out_everywhere, session_user
from exts import db
from mailqueue.handoff import MailNotSent, hand_over_code
from models import EmailCaptchaModel, LoginFailureModel, UserModel, utcnow

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.before_app_request
def load_logged_in_user():
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


def seconds_left(since, period, now):
    return max(1, math.ceil((since + period - now).total_seconds()))


@bp.route("/captcha/email", methods=["POST"])
def captcha_email():
    form = CaptchaForm()
    if not form.validate():
        return jsonify(code=400, message=first_error(form)), 400
    email = form.email.data
    if db.session.scalar(select(UserModel.id).where(UserModel.email == email)):
        return jsonify(code=409, message="This email is already registered: log in instead."), 409

    config = current_app.config
    now = utcnow()
    resend = timedelta(seconds=config["CAPTCHA_RESEND_SECONDS"])
    last_sent = db.session.scalar(
        select(func.max(EmailCaptchaModel.create_time)).where(EmailCaptchaModel.email == email))
    if last_sent is not None and last_sent > now - resend:
        wait = seconds_left(last_sent, resend, now)
        response = jsonify(code=429, message=f"A code was just sent. Try again in {wait} s.",
                           retry_after=wait)
        response.headers["Retry-After"] = str(wait)
        return response, 429

    code = f"{secrets.randbelow(10**6):06d}"
    captcha = EmailCaptchaModel(email=email, captcha=code, create_time=now)
    # Codes a day old are long expired; a day's margin still tells "expired" from "never sent".
    db.session.execute(delete(EmailCaptchaModel).where(
        EmailCaptchaModel.create_time < now - timedelta(days=1)))
    db.session.add(captcha)
    # Committed before sending so that no mailed code is missing from the database.
    db.session.commit()
    try:
        # Sent now, or, with a broker, queued for the mail worker.
        hand_over_code(email, code, now + timedelta(seconds=config["CAPTCHA_TTL_SECONDS"]))
    except MailNotSent as exc:
        current_app.logger.error("could not send the code to %s: %s", email, exc)
        # Forget the row, so that the 60-second wait does not apply to a mail never sent.
        db.session.delete(captcha)
        db.session.commit()
        return jsonify(code=503, message="The email could not be sent. Please try again later."), 503
    minutes = config["CAPTCHA_TTL_SECONDS"] // 60
    return jsonify(code=200, message=f"A code was sent to {email}. It is valid for {minutes} minutes.")


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
    if captcha.attempts >= max_attempts:
        return "Too many wrong codes: ask for a new one."
    if not secrets.compare_digest(captcha.captcha, code):
        left = max_attempts - captcha.attempts - 1
        # An UPDATE, not a read-modify-write, so that parallel workers cannot lose a try.
        db.session.execute(update(EmailCaptchaModel).where(EmailCaptchaModel.id == captcha.id)
                           .values(attempts=EmailCaptchaModel.attempts + 1))
        db.session.commit()
        if left <= 0:
            return "Wrong code, and that was the last try: ask for a new one."
        return f"Wrong code: {left} {'try' if left == 1 else 'tries'} left."
    # Only one request can flip used from false to true: the code works once.
    used = db.session.execute(
        update(EmailCaptchaModel)
        .where(EmailCaptchaModel.id == captcha.id, EmailCaptchaModel.used.is_(False),
               EmailCaptchaModel.attempts < max_attempts)
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
    now = utcnow()
    window = timedelta(seconds=config["LOGIN_WINDOW_SECONDS"])
    recent = select(LoginFailureModel.create_time).where(
        LoginFailureModel.email == email, LoginFailureModel.create_time > now - window)
    failures = db.session.scalars(recent.order_by(LoginFailureModel.create_time)).all()
    limit = config["LOGIN_MAX_FAILURES"]
    if len(failures) >= limit:
        wait = math.ceil(seconds_left(failures[-limit], window, now) / 60)
        return 429, (f"Too many failed logins for this email. Try again in {wait} "
                     f"minute{'' if wait == 1 else 's'}.")

    user = db.session.scalars(select(UserModel).where(UserModel.email == email)).first()
    if user is not None and user.check_password(password):
        db.session.execute(delete(LoginFailureModel).where(LoginFailureModel.email == email))
        db.session.commit()
        log_in(user)
        g.user = user
        return 200, None
    if user is None:
        UserModel.check_no_password(password)
    # Failures older than the window no longer count, for any email: the table stays small.
    db.session.execute(delete(LoginFailureModel).where(LoginFailureModel.create_time <= now - window))
    db.session.add(LoginFailureModel(email=email, create_time=now))
    db.session.commit()
    left = limit - len(failures) - 1
    if left <= 0:
        minutes = math.ceil(window.total_seconds() / 60)
        return 429, f"Wrong email or password. Too many failed logins: wait {minutes} minutes."
    return 400, "Wrong email or password."


@bp.route("/logout", methods=["POST"])
def logout():
    # Every copy of the cookie, on every device, stops working, not only this browser's.
    log_out_everywhere(g.user)
    flash("You are logged out.", "info")
    return redirect(url_for("qa.index"))
