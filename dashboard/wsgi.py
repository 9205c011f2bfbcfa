"""The WSGI entry point that gunicorn serves: `dashboard.wsgi:app`."""

from dashboard import create_app

app = create_app()
