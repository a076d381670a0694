"""The office's web app: server-rendered pages in Japanese and a JSON API under /api/v1.

FastAPI routers, one module per group of pages (``auth``, ``customer``, ``public``,
``hotline``, ``staff``, ``admin``, ``api``); Jinja2 templates with autoescape; a little CSS;
no JavaScript needed. Every route names the action it performs (``deps.permission``);
the work is done by ``casework`` functions, which check again.
"""
