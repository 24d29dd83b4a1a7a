"""gunicorn's access log, without the secret of an e-mailed reset link.

The link's token is in its URL, and gunicorn logs every URL. The app moves the token
out of the URL at the first request (auth/routes.py), and this logger writes that one
request as /auth/reset-password/[token]. gunicorn.conf.py at the project root names it.
"""

import re

from gunicorn.glogging import Logger

TOKEN_IN_PATH = re.compile(r"(/auth/reset-password/)[^/?#\s]+")
# The atoms that carry the request's URL: the request line, the path, the Referer and
# the raw URI of the WSGI environ.
URL_ATOMS = ("r", "U", "f", "{raw_uri}e", "{path_info}e")


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in URL_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = TOKEN_IN_PATH.sub(r"\1[token]", atoms[name])
        return atoms
