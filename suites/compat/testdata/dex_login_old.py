"""The same login as dex_login.py in its Kubeflow 1.8 form: it expects the gateway to redirect straight to Dex
and does not know oauth2-proxy's 403 sign-in page, so it fails against Kubeflow 1.9 and later, as people found.
"""
import re
import sys
import urllib.parse

import dex_login


def login(session, pipeline_url, username, password, verify=True, connector="local", approve=True):
    resp = session.get(pipeline_url, allow_redirects=True, timeout=15, verify=verify)
    if resp.status_code != 200:
        raise RuntimeError(f"HTTP status code '{resp.status_code}' for GET against: {pipeline_url}")
    url_obj = urllib.parse.urlsplit(resp.url)
    if re.search(r"/auth$", url_obj.path):
        url_obj = url_obj._replace(path=re.sub(r"/auth$", f"/auth/{connector}", url_obj.path))
    if not re.search(r"/auth/.*/login$", url_obj.path):
        resp = session.get(urllib.parse.urlunsplit(url_obj), allow_redirects=True, timeout=15, verify=verify)
        url_obj = urllib.parse.urlsplit(resp.url)
    resp = session.post(urllib.parse.urlunsplit(url_obj), data={"login": username, "password": password},
                        allow_redirects=True, timeout=15, verify=verify)
    if len(resp.history) == 0:
        raise RuntimeError("Login credentials are probably invalid - "
                           f"No redirect after POST to: {url_obj.geturl()} (status {resp.status_code})")
    url_obj = urllib.parse.urlsplit(resp.url)
    if approve and re.search(r"/approval$", url_obj.path):
        resp = session.post(resp.url, data={"approval": "approve"}, allow_redirects=True, timeout=15, verify=verify)
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


if __name__ == "__main__":
    sys.exit(dex_login.main(login))
