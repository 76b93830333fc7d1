"""Small project trees in the shape of real ones, for detection and deploy tests."""

from __future__ import annotations

import json

NEXTJS = {
    "package.json": json.dumps(
        {
            "name": "shop",
            "private": True,
            "scripts": {"dev": "next dev", "build": "next build", "start": "next start"},
            "dependencies": {
                "next": "15.0.3",
                "react": "19.0.0",
                "react-dom": "19.0.0",
                "pg": "^8.13.0",
                "ioredis": "^5.4.1",
            },
            "engines": {"node": ">=20"},
        },
        indent=2,
    ),
    "package-lock.json": "",
    "app/page.tsx": "export default function Home() { return <h1>Shop</h1> }\n",
    "app/api/health/route.ts": "export function GET() { return Response.json({ ok: true }) }\n",
    ".env.example": "# copy to .env\nDATABASE_URL=postgres://user:pass@localhost:5432/shop\n"
    "REDIS_URL=redis://localhost:6379\nNEXT_PUBLIC_SITE_NAME=Shop\n",
}

FASTAPI = {
    "requirements.txt": "fastapi==0.115.5\nuvicorn[standard]==0.32.1\nasyncpg==0.30.0\nredis>=5\n",
    "app/__init__.py": "",
    "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI(title='notes')\n\n\n"
    "@app.get('/healthz')\nasync def health() -> dict[str, str]:\n    return {'status': 'ok'}\n",
    "app/db.py": "import asyncpg\n",
}

DJANGO = {
    "requirements.txt": "Django>=5.1,<5.2\ngunicorn==23.0.0\npsycopg[binary]==3.2.3\n",
    "manage.py": "#!/usr/bin/env python\nimport os\nimport sys\n\n\ndef main():\n"
    "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'blog.settings')\n"
    "    from django.core.management import execute_from_command_line\n"
    "    execute_from_command_line(sys.argv)\n",
    "blog/__init__.py": "",
    "blog/settings.py": "DEBUG = False\nDATABASES = {\n    'default': {\n"
    "        'ENGINE': 'django.db.backends.postgresql',\n        'NAME': 'blog',\n    }\n}\n",
    "blog/urls.py": "from django.urls import path\n\nurlpatterns = [\n"
    "    path('health/', lambda r: None),\n]\n",
    "blog/wsgi.py": "from django.core.wsgi import get_wsgi_application\n"
    "application = get_wsgi_application()\n",
}

FLASK = {
    "pyproject.toml": '[project]\nname = "todo"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    'dependencies = [\n    "flask>=3.0",\n    "pymongo>=4.10",\n]\n',
    "todo.py": "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route('/')\n"
    "def index():\n    return 'todo'\n",
    "Procfile": "web: flask --app todo run --host 127.0.0.1 --port $PORT\n",
}

EXPRESS = {
    "package.json": json.dumps(
        {
            "name": "api",
            "main": "server.js",
            "dependencies": {"express": "^4.21.1", "mysql2": "^3.11.0"},
        },
        indent=2,
    ),
    "yarn.lock": "",
    "server.js": "const express = require('express')\nconst app = express()\n\n"
    "app.get('/api/health', (req, res) => res.json({ ok: true }))\n\n"
    "app.listen(process.env.PORT || 3000)\n",
}

GO_NET_HTTP = {
    "go.mod": "module example.com/hello\n\ngo 1.22\n\nrequire github.com/mattn/go-sqlite3 v1.14.24\n",
    "main.go": 'package main\n\nimport (\n\t"net/http"\n\t"os"\n)\n\nfunc main() {\n'
    '\thttp.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {})\n'
    '\thttp.ListenAndServe(":"+os.Getenv("PORT"), nil)\n}\n',
}

DOCKERFILE_ONLY = {
    "Dockerfile": "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /app\n\n"
    "FROM gcr.io/distroless/base\nCOPY --from=build /app /app\nEXPOSE 8080\n"
    "HEALTHCHECK CMD curl -f http://localhost:8080/ping || exit 1\n"
    'CMD ["/app", "--serve"]\n',
    "README.md": "# a service\n",
}


def as_bytes(tree: dict[str, str]) -> dict[str, bytes]:
    return {path: text.encode() for path, text in tree.items()}
