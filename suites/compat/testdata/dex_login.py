"""Log in to a Kubeflow gateway with Dex static credentials and list experiments with the session cookies.

This is the algorithm of kubeflow/manifests tests/dex_login_test.py (master) and of deployKF's KFPClientManager:
the script people copy from Kubeflow's docs. It uses only `requests`, follows redirects, handles oauth2-proxy's
403 sign-in page through /oauth2/start, posts Dex's form, approves the approval screen, and sends every cookie
back. Exit 0 and "OK <n>" on success; non-zero with a message otherwise.
"""
import argparse
import re
import sys
import urllib.parse

import requests


def login(session, pipeline_url, username, password, verify=True, connector="local"):
    resp = session.get(pipeline_url, allow_redirects=True, timeout=15, verify=verify)
    if resp.status_code in (401, 403):
        # oauth2-proxy's sign-in page (Kubeflow 1.9+): start the login explicitly.
        url_obj = urllib.parse.urlsplit(resp.url)
        start = url_obj._replace(path="/oauth2/start", query=urllib.parse.urlencode({"rd": url_obj.path}))
        resp = session.get(urllib.parse.urlunsplit(start), allow_redirects=True, timeout=15, verify=verify)
    elif resp.status_code != 200:
        raise RuntimeError(f"HTTP status code '{resp.status_code}' for GET against: {pipeline_url}")
    url_obj = urllib.parse.urlsplit(resp.url)
    if re.search(r"/auth$", url_obj.path):
        url_obj = url_obj._replace(path=re.sub(r"/auth$", f"/auth/{connector}", url_obj.path))
    if not re.search(r"/auth/.*/login$", url_obj.path):
        resp = session.get(urllib.parse.urlunsplit(url_obj), allow_redirects=True, timeout=15, verify=verify)
        if resp.status_code != 200:
            raise RuntimeError(f"HTTP status code '{resp.status_code}' for GET against: {url_obj.geturl()}")
        url_obj = urllib.parse.urlsplit(resp.url)
    resp = session.post(urllib.parse.urlunsplit(url_obj), data={"login": username, "password": password},
                        allow_redirects=True, timeout=15, verify=verify)
    if len(resp.history) == 0:
        raise RuntimeError("Login credentials are probably invalid - "
                           f"No redirect after POST to: {url_obj.geturl()} (status {resp.status_code})")
    url_obj = urllib.parse.urlsplit(resp.url)
    if re.search(r"/approval$", url_obj.path):
        resp = session.post(resp.url, data={"approval": "approve"}, allow_redirects=True, timeout=15, verify=verify)
        if resp.status_code != 200:
            raise RuntimeError(f"HTTP status code '{resp.status_code}' for POST against: {url_obj.geturl()}")
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def main(login_fn=login):
    """Parse the arguments, log in with login_fn, list experiments with the cookies; the exit code says how it went."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipeline-url", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--ca-file")
    # KFPClientManager's dex_auth_type: the connector chosen by rewriting /auth to /auth/<type>.
    ap.add_argument("--dex-auth-type", default="local", choices=["local", "ldap"])
    args = ap.parse_args()
    session = requests.Session()
    # verify goes on every call: a Session's verify loses to REQUESTS_CA_BUNDLE from the environment.
    verify = args.ca_file or True
    try:
        cookies = login_fn(session, args.pipeline_url.rstrip("/") + "/", args.username, args.password, verify,
                           connector=args.dex_auth_type)
    except Exception as exc:  # report the flow error the way the script's users see it
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    resp = requests.get(args.pipeline_url.rstrip("/") + "/apis/v2beta1/experiments",
                        params={"namespace": args.namespace}, headers={"Cookie": cookies},
                        allow_redirects=False, timeout=15, verify=verify)
    if resp.status_code != 200:
        print(f"list experiments: HTTP {resp.status_code}", file=sys.stderr)
        return 1
    print("OK", len(resp.json().get("experiments", [])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
