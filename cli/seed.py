"""``python manage.py seed``: bulk demo users, questions and answers, safe to run again."""
import random
import sys
import time
from datetime import timedelta

from flask import current_app
from flask_script import Command, Option
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, update

import db_objects
from exts import db
from models import AnswerModel, QuestionModel, UserModel, utcnow
from visible_text import username_key

DEMO_DOMAIN = "example.com"
DEMO_PASSWORD = "demo-password"
# executemany in slices keeps memory flat and stays under MySQL's max_allowed_packet.
CHUNK = 5000

NAMES = ["ann", "bo", "chen", "dana", "eli", "fang", "gus", "hana", "ivan", "jun", "kai",
         "lena", "小明", "李雷", "韩梅梅", "王芳", "mo", "nia", "omar", "pia"]
TOPICS = ["Flask", "SQLAlchemy", "Jinja2", "gunicorn", "MariaDB", "SQLite", "Alembic",
          "Bootstrap", "pytest", "WTForms", "Python 3.11", "Werkzeug", "蓝图", "数据库迁移"]
ASKS = [
    "How do I paginate a query in {t}?",
    "Why does {t} raise an error after upgrading?",
    "What is the best way to test {t} code?",
    "Can {t} run behind nginx with HTTPS?",
    "{t}: how to keep settings out of the code?",
    "How to log slow requests with {t}?",
    "{t} 中文内容显示成乱码怎么办？",
    "如何在 {t} 里实现分页？",
    "{t} 部署到服务器后很慢，怎么排查？",
    "Is {t} fast enough for 10k users? 🚀",
]
DETAILS = [
    "I followed the tutorial step by step, but on my machine it behaves differently.",
    "The page works locally, yet in production it returns an error after a few minutes.",
    "I read the documentation twice and still do not see which setting controls this.",
    "我按照教程一步一步做，但是结果和视频里不一样。",
    "Here is what I tried so far: restarting, clearing the cache, and a fresh virtualenv.",
    "Any pointer to an example project would help a lot. Thanks! 🙏",
]
REPLIES = [
    "Check the version you pinned: the behaviour changed in the last release.",
    "Read the migration script before you run it; autogenerate misses renames.",
    "Set the variable in the environment instead of the code, then restart the workers.",
    "你需要先运行 db upgrade，然后再启动服务。",
    "Turn on the SQL echo for one request and count the queries: it is usually an N+1.",
    "It works for me with a fresh database, so the old schema is the likely culprit. 👍",
    "Use a real test database instead of a mock, and the difference shows up at once.",
]


class Seed(Command):
    """Fills the database with demo users, questions and answers (tops up to the counts asked)."""

    option_list = (
        Option("--users", dest="users", type=int, default=10, help="demo users (default 10)"),
        Option("--questions", dest="questions", type=int, default=100,
               help="questions by demo users (default 100)"),
        Option("--answers", dest="answers", type=int, default=300,
               help="answers by demo users (default 300)"),
        Option("--random-seed", dest="random_seed", type=int, default=2026,
               help="makes the generated text repeatable (default 2026)"),
        Option("--force", dest="force", action="store_true", default=False,
               help="seed even outside development and testing (the demo accounts share a "
                    "published password)"),
    )

    def run(self, users, questions, answers, random_seed, force):
        if not (force or current_app.config["DEMO_DATA_ALLOWED"]):
            fail(f"seed writes demo accounts with the published password {DEMO_PASSWORD!r}: it "
                 "runs only with FLASK_CONFIG=development or testing (add --force to seed "
                 "this database anyway)")
        if min(users, questions, answers) < 0:
            fail("--users, --questions and --answers must be 0 or more")
        if users == 0 and (questions or answers):
            fail("questions and answers need authors: give --users 1 or more")
        started = time.perf_counter()
        summary = seed(users, questions, answers, random.Random(random_seed))
        print(f"Seeded in {time.perf_counter() - started:.1f} s: " + ", ".join(
            f"{name} {added} added ({total} demo in all)" for name, (added, total) in summary.items()))
        print(f"Demo accounts: demo1@{DEMO_DOMAIN} … demo{users}@{DEMO_DOMAIN}, "
              f"password {DEMO_PASSWORD!r}")


def fail(message):
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(1)


def seed(users, questions, answers, rng):
    """Top the demo rows up to the counts given; {kind: (added, total)}."""
    now = utcnow().replace(microsecond=0)
    summary = {}

    emails = [f"demo{i}@{DEMO_DOMAIN}" for i in range(1, users + 1)]
    existing = set(db.session.scalars(select(UserModel.email).where(UserModel.email.in_(emails))))
    missing = [e for e in emails if e not in existing]
    if missing:
        # One scrypt hash for all: hashing each would take most of the run.
        template = UserModel()
        template.set_password(DEMO_PASSWORD)
        taken = set(db.session.scalars(select(UserModel.username_key)))
        rows = []
        for e in missing:
            name = free_username(demo_username(emails.index(e) + 1), taken)
            rows.append({"email": e, "username": name, "username_key": username_key(name),
                         "password_hash": template.password_hash,
                         "join_time": now - timedelta(days=120)})
        insert_rows(db.session.connection(), UserModel.__table__, rows)
        db.session.commit()
    summary["users"] = (len(missing), users)
    author_ids = list(db.session.scalars(select(UserModel.id).where(UserModel.email.in_(emails))))

    have = count(QuestionModel, author_ids)
    add = max(0, questions - have)
    if add:
        # Spread over the last 90 days; sorted so that ids follow time, as on a real site.
        offsets = sorted(rng.uniform(0, 90 * 86400) for _ in range(add))
        rows = [{
            "title": rng.choice(ASKS).format(t=rng.choice(TOPICS)),
            "content": " ".join(rng.sample(DETAILS, rng.randint(1, 3))),
            "author_id": rng.choice(author_ids),
            "create_time": now - timedelta(days=90) + timedelta(seconds=int(offset)),
        } for offset in offsets]
        # The numbering trigger gives them seq 1, 2, 3... in this order; the search index is
        # filled for all of them at the end (db_objects.py).
        connection = db.session.connection()
        with db_objects.search_index_in_bulk(connection):
            insert_rows(connection, QuestionModel.__table__, rows)
        db.session.commit()
    summary["questions"] = (add, have + add)

    have = count(AnswerModel, author_ids)
    add = max(0, answers - have)
    if add:
        targets = db.session.execute(
            select(QuestionModel.id, QuestionModel.create_time, QuestionModel.answer_count)
            .where(QuestionModel.author_id.in_(author_ids))).all()
        if not targets:
            fail("answers need questions: give --questions 1 or more")
        # Drawn k at a time (random.choices): a call per pick cost seconds at 500k answers.
        rows = []
        for (question_id, asked, _count), content, author_id in zip(
                rng.choices(targets, k=add), rng.choices(REPLIES, k=add),
                rng.choices(author_ids, k=add)):
            later = max(0.0, (now - asked).total_seconds())
            rows.append({
                "content": content,
                "question_id": question_id,
                "author_id": author_id,
                "create_time": asked + timedelta(seconds=int(rng.random() * later)),
            })
        # Numbered here, in time order, after the answers each question has: the trigger
        # leaves rows that come with their seq alone (migration 949dd11a1e1d), as one per
        # row made half a million answers take minutes. The counts follow.
        rows.sort(key=lambda row: row["create_time"])
        numbers = {question_id: count for question_id, _asked, count in targets}
        for row in rows:
            numbers[row["question_id"]] += 1
            row["seq"] = numbers[row["question_id"]]
        connection = db.session.connection()
        insert_rows(connection, AnswerModel.__table__, rows)
        answered = {row["question_id"] for row in rows}
        set_answer_counts(connection, {q: n for q, n in numbers.items() if q in answered})
        db.session.commit()
    summary["answers"] = (add, have + add)
    return summary


def set_answer_counts(connection, counts):
    """question.answer_count = *counts*[question.id], in a few statements however many
    questions: an UPDATE per question is a round trip each to MariaDB (100k of them took
    13 s), and recounting answers inserted in the same transaction took InnoDB 20 s.
    The numbers go into a temporary table (no implicit commit on MariaDB) and one UPDATE
    joins it (3 s)."""
    table = Table("seed_answer_count", MetaData(),
                  Column("question_id", Integer, primary_key=True, autoincrement=False),
                  Column("answer_count", Integer, nullable=False), prefixes=["TEMPORARY"])
    db_objects.begin_for_ddl(connection)  # SQLite: the table then goes with a rollback
    table.create(connection)
    try:
        insert_rows(connection, table, [{"question_id": question_id, "answer_count": count}
                                        for question_id, count in counts.items()])
        questions = QuestionModel.__table__
        connection.execute(update(questions).where(questions.c.id == table.c.question_id)
                           .values(answer_count=table.c.answer_count))
    finally:
        # Also after a failure: a MariaDB temporary table outlives the transaction, and the
        # pooled connection would still hold it. A plain DROP TABLE would commit there.
        connection.exec_driver_sql("DROP TABLE IF EXISTS temp.seed_answer_count"
                                   if connection.dialect.name == "sqlite"
                                   else "DROP TEMPORARY TABLE IF EXISTS seed_answer_count")


def demo_username(number):
    """ann, bo, … then ann21, bo22, …: readable, and unique for any number of users."""
    name = NAMES[(number - 1) % len(NAMES)]
    return name if number <= len(NAMES) else f"{name}{number}"


def free_username(name, taken):
    """*name*, or *name*-2, -3, … if someone already has it (usernames are unique); the
    name's key is added to *taken*."""
    candidate, number = name, 1
    while username_key(candidate) in taken:
        number += 1
        candidate = f"{name}-{number}"
    taken.add(username_key(candidate))
    return candidate


def count(model, author_ids):
    if not author_ids:
        return 0
    return db.session.scalar(select(func.count(model.id)).where(model.author_id.in_(author_ids)))


def insert_rows(connection, table, rows):
    """Core executemany on *connection*: no ORM objects, no RETURNING, a few statements per
    thousand rows. The caller commits."""
    statement = insert(table)
    for start in range(0, len(rows), CHUNK):
        connection.execute(statement, rows[start:start + CHUNK])
