"""deployKF's browser "out-of-band" login for the KFP SDK, in the style of DeployKFCredentialsOutOfBand from
deployKF's docs (access-kubeflow-pipelines-api): requests-oauthlib, the public client kubeflow-pipelines-sdk,
redirect urn:ietf:wg:oauth:2.0:oob, PKCE S256 with a 128-character verifier, a pasted code, the token cached in
~/.config/kfp/dkf_credentials.json keyed by issuer, reused with more than 300 s left, else refreshed.

Here it lists experiments with the ID token as Bearer (what kfp.Client does through refresh_api_key_hook) and
prints "OK <how> <count>". Unlike the docs' copy it keeps other issuers in the cache file and writes it 0600.
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import time

import requests
from requests_oauthlib import OAuth2Session


class DeployKFCredentialsOutOfBand:
    def __init__(self, issuer_url, ca_file=None):
        self.oidc_issuer_url = issuer_url
        self.oidc_client_id = "kubeflow-pipelines-sdk"
        self.oidc_redirect_uri = "urn:ietf:wg:oauth:2.0:oob"
        self.oidc_scope = ["openid", "email", "groups", "profile", "offline_access"]
        self.verify = ca_file if ca_file else True
        self.local_credentials_path = os.path.join(os.path.expanduser("~"), ".config", "kfp", "dkf_credentials.json")
        self.how = None
        self._fetch_oidc_endpoints()

    def _fetch_oidc_endpoints(self):
        url = self.oidc_issuer_url + "/.well-known/openid-configuration"
        resp = requests.get(url, verify=self.verify, timeout=30)
        resp.raise_for_status()
        config = resp.json()
        if config["issuer"] != self.oidc_issuer_url:
            raise RuntimeError("issuer mismatch: %s != %s" % (config["issuer"], self.oidc_issuer_url))
        self.oidc_auth_endpoint = config["authorization_endpoint"]
        self.oidc_token_endpoint = config["token_endpoint"]

    def _read_credentials(self):
        if os.path.exists(self.local_credentials_path):
            with open(self.local_credentials_path, "r") as f:
                return json.load(f).get(self.oidc_issuer_url)
        return None

    def _write_credentials(self, token):
        data = {}
        if os.path.exists(self.local_credentials_path):
            with open(self.local_credentials_path, "r") as f:
                data = json.load(f)
        data[self.oidc_issuer_url] = token
        os.makedirs(os.path.dirname(self.local_credentials_path), mode=0o700, exist_ok=True)
        tmp = self.local_credentials_path + ".py-tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.local_credentials_path)

    def _generate_pkce(self):
        code_verifier = base64.urlsafe_b64encode(os.urandom(96)).decode("utf-8").replace("=", "")[:128]
        digest = hashlib.sha256(code_verifier.encode("utf-8")).digest()
        code_challenge = base64.urlsafe_b64encode(digest).decode("utf-8").replace("=", "")
        return code_verifier, code_challenge

    def _login(self):
        oauth = OAuth2Session(self.oidc_client_id, redirect_uri=self.oidc_redirect_uri, scope=self.oidc_scope)
        code_verifier, code_challenge = self._generate_pkce()
        authorization_url, _ = oauth.authorization_url(
            self.oidc_auth_endpoint, code_challenge=code_challenge, code_challenge_method="S256")
        print("Please open this URL in a browser to continue authentication:\n" + authorization_url, flush=True)
        code = input("Enter the authorization code: ")
        token = oauth.fetch_token(self.oidc_token_endpoint, code=code.strip(), code_verifier=code_verifier,
                                  include_client_id=True, verify=self.verify, timeout=30)
        self._write_credentials(token)
        self.how = "login"
        return token

    def _refresh(self, token):
        oauth = OAuth2Session(self.oidc_client_id, token=token, scope=self.oidc_scope)
        # client_id must be passed: requests-oauthlib's refresh_token adds it only from kwargs, and without it Dex
        # answers 401 invalid_client "Invalid client credentials." (a public client is known by its ID alone).
        token = oauth.refresh_token(self.oidc_token_endpoint, client_id=self.oidc_client_id, include_client_id=True,
                                    verify=self.verify, timeout=30)
        self._write_credentials(token)
        self.how = "refresh"
        return token

    def get_token(self):
        token = self._read_credentials()
        if token:
            if token.get("expires_at", 0) - time.time() > 300:
                self.how = "cached"
                return token
            if token.get("refresh_token"):
                try:
                    return self._refresh(token)
                except Exception as e:  # the docs' client falls back to a new login
                    print("refresh failed: %s" % e, file=sys.stderr)
        return self._login()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--pipeline-url", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--ca-file")
    args = ap.parse_args()
    creds = DeployKFCredentialsOutOfBand(args.issuer, args.ca_file)
    token = creds.get_token()
    resp = requests.get(args.pipeline_url + "/apis/v2beta1/experiments", params={"namespace": args.namespace},
                        headers={"Authorization": "Bearer " + token["id_token"]},
                        verify=creds.verify, timeout=30, allow_redirects=False)
    if resp.status_code != 200:
        print("FAIL list experiments: HTTP %d" % resp.status_code)
        return 1
    print("OK %s %d" % (creds.how, len(resp.json().get("experiments", []))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
