"""The WSGI entry point that gunicorn serves: `api.wsgi:app`."""

from api import create_app

app = create_app()
