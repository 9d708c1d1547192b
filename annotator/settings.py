"""Dachs settings: everything that differs between machines comes from the environment.

Unset, the app runs on embedded defaults: SQLite in the data directory and a Redis server
on loopback that `manage.py demo` starts. Set DATABASE_URL / REDIS_URL for PostgreSQL and a
real Redis.
"""

from pathlib import Path

import dj_database_url

from annotator.envconf import env_bool, env_choice, env_int, env_list, env_str, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DACHS_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DICOM_DIR = DATA_DIR / "dicom"

SECRET_KEY = secret_key(DATA_DIR)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_rq",
    "annotator.imaging",
    "annotator.labeling",
    "annotator.worklist",
    "annotator.audit",
    "annotator.learning",
    "annotator.accounts",
    "annotator.review",
    "annotator.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "annotator.accounts.actor.ActorMiddleware",  # who acts, for audited account changes
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "annotator.web.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "annotator.urls"
WSGI_APPLICATION = "annotator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "annotator.accounts.context_processors.navigation",
            ],
        },
    },
]


def _database() -> dict:
    url = env_str("DATABASE_URL", "")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "dachs.sqlite3"}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and ingest share one file: WAL lets readers run beside the writer,
        # IMMEDIATE takes the write lock when a transaction starts (so a queue claim can
        # never race), and the timeout makes a second writer wait instead of failing.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # A file, not :memory:, so that worker processes started by tests see the data.
        config["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed sign-ins (annotator/accounts/throttle.py), counted in the database so that every
# web process sees them: per username and per client address, within the window.
LOGIN_FAILURES_PER_USER = env_int("DACHS_LOGIN_FAILURES_PER_USER", 10)
LOGIN_FAILURES_PER_ADDRESS = env_int("DACHS_LOGIN_FAILURES_PER_ADDRESS", 50)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("DACHS_LOGIN_FAILURE_WINDOW_SECONDS", 900)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "label"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The Vite bundle: a fixed entry `label.js` plus chunks, workers and .wasm files that it
# loads by their own names, so no manifest storage (it would hash names the bundle uses).
STATICFILES_DIRS = [("frontend", BASE_DIR / "frontend" / "dist")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # DICOM files and model checkpoints (.pt), under content-derived keys
    # (annotator/imaging/storage.py).
    # An S3-compatible bucket is a matter of pointing this at django-storages' backend.
    "dicom": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DICOM_DIR, "file_permissions_mode": 0o640},
    },
}
WHITENOISE_MIMETYPES = {".wasm": "application/wasm"}

SESSION_COOKIE_HTTPONLY = True
# Behind HTTPS (DACHS_HTTPS=true, the production setting): cookies only over TLS, HSTS,
# and plain HTTP redirected. A proxy that terminates TLS must set X-Forwarded-Proto.
HTTPS = env_bool("DACHS_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DACHS_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DACHS_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DACHS_HSTS_PRELOAD", True)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["annotator.accounts.permissions.IsAnnotator"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["annotator.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "annotator.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6389/0")
# A request never waits on Redis for long: a frozen server costs at most these seconds.
REDIS_CONNECT_TIMEOUT = float(env_str("DACHS_REDIS_CONNECT_TIMEOUT", "1"))
REDIS_SOCKET_TIMEOUT = float(env_str("DACHS_REDIS_SOCKET_TIMEOUT", "1"))
# A trigger that could not reach Redis is retried by a later label, at most this often.
ENQUEUE_RETRY_SECONDS = env_int("DACHS_ENQUEUE_RETRY_SECONDS", 30)


def rq_queues(url: str) -> dict:
    """django-rq's queues; `training` can have a GPU worker of its own."""
    return {name: {"URL": url, "DEFAULT_TIMEOUT": 3600} for name in ("default", "training")}


RQ_QUEUES = rq_queues(REDIS_URL)
# Workers that mark a training run failed when their work horse dies (OOM, SIGKILL).
RQ = {"WORKER_CLASS": "annotator.learning.worker.Worker"}
# django-rq's admin dashboard reads Redis on every page (and fails while it is down); runs,
# models and their errors have admin pages of their own.
RQ_SHOW_ADMIN_LINK = False

# Ingest: the largest image (all frames, decoded) accepted; 1024² MR at 16 bits is 2 MiB.
MAX_DECODED_BYTES = env_int("DACHS_MAX_DECODED_BYTES", 64 * 1024 * 1024)

# Labeling queue and learning loop.
QUEUE_LEASE_SECONDS = env_int("DACHS_LEASE_SECONDS", 300)
QUEUE_LOOKAHEAD = env_int("DACHS_LOOKAHEAD", 2)  # further slices leased for prefetching
# Share of claims served from validation and test dogs, in stratified random order.
QUEUE_HELD_OUT_SHARE = float(env_str("DACHS_HELD_OUT_SHARE", "0.2"))
QUEUE_SHUFFLE_SEED = env_int("DACHS_SHUFFLE_SEED", 20211)
RETRAIN_EVERY = env_int("DACHS_RETRAIN_EVERY", 25)  # new labels that trigger a retrain
# Which labels train the model: "submitted" (every label not rejected) or "accepted"
# (approved, corrected or imported). Retrain-after-K counts the labels that would train.
TRAIN_ON = env_choice("DACHS_TRAIN_ON", "submitted", ("submitted", "accepted"))
# Share of slices given blind to two different annotators (double reads).
DOUBLE_READ_SHARE = float(env_str("DACHS_DOUBLE_READ_SHARE", "0.1"))
REVIEW_LEASE_SECONDS = env_int("DACHS_REVIEW_LEASE_SECONDS", 300)
# How the training pool is ordered once a model scores it (see annotator/learning/selection.py);
# a labeling batch is the next RETRAIN_EVERY items of that order.
AL_STRATEGY = env_choice(
    "DACHS_AL_STRATEGY", "hybrid", ("random", "entropy", "margin", "bald", "hybrid")
)
MC_PASSES = env_int("DACHS_MC_PASSES", 10)  # dropout passes of the head for BALD
# Cron syntax, in UTC, for `manage.py rqcron annotator.cron`.
NIGHTLY_RETRAIN_CRON = env_str("DACHS_NIGHTLY_CRON", "0 2 * * *")
TRAIN_JOB_TIMEOUT = env_int("DACHS_TRAIN_JOB_TIMEOUT", 3600)
SCORE_JOB_TIMEOUT = env_int("DACHS_SCORE_JOB_TIMEOUT", 3600)
# A candidate is promoted unless its validation macro AUROC is worse by more than this.
PROMOTION_TOLERANCE = float(env_str("DACHS_PROMOTION_TOLERANCE", "0.01"))
# The lesion model (sized for a 2-core CPU; a GPU worker takes more steps).
TRAIN_STEPS = env_int("DACHS_TRAIN_STEPS", 800)
TRAIN_STEPS_GPU = env_int("DACHS_TRAIN_STEPS_GPU", 2000)  # a worker with CUDA
TRAIN_TILE_SIZE = env_int("DACHS_TRAIN_TILE_SIZE", 64)
TRAIN_TILE_STRIDE = env_int("DACHS_TRAIN_TILE_STRIDE", 48)
TRAIN_MAX_NEGATIVE = env_int("DACHS_TRAIN_MAX_NEGATIVE", 4)  # lesion-free tiles kept per slice
LOCALISER_STEPS = env_int("DACHS_LOCALISER_STEPS", 400)
LOCALISER_MAX_SLICES = env_int("DACHS_LOCALISER_MAX_SLICES", 1500)
HEATMAP_SIDE = env_int("DACHS_HEATMAP_SIDE", 128)  # pixels on the stored map's longer side
TORCH_THREADS = env_int("DACHS_TORCH_THREADS", 2)
TORCH_DEVICE = env_str("DACHS_TORCH_DEVICE", "auto")  # auto: CUDA when the worker has a GPU

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
