"""Production gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py maskednumbers.wsgi`.

The access log goes to stdout with the request target redacted (no Flowroute webhook
token, no phone number in a query string): maskednumbers/accesslog.py.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # noqa: S104 - behind the proxy
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
# A slow request (a vendor webhook waits on nothing external) is a stuck worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Trust X-Forwarded-* only from the proxy in front (comma-separated addresses).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
logger_class = "maskednumbers.accesslog.RedactingLogger"
# Address, time, request line (redacted), status, bytes, milliseconds, user agent.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
