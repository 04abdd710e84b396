"""The oldest form of the login in Kubeflow's docs (KFPClientManager before it learnt the approval screen): it
expects the gateway to redirect straight to Dex and posts Dex's form, and nothing more. It works on a real Kubeflow
1.8.1, whose Dex skips the approval screen (skipApprovalScreen: true, and oidc-authservice never forces approval),
and fails wherever Dex shows that screen: the session is never made.
"""
import sys

import dex_login
import dex_login_old


def login(session, pipeline_url, username, password, verify=True, connector="local"):
    return dex_login_old.login(session, pipeline_url, username, password, verify, connector, approve=False)


if __name__ == "__main__":
    sys.exit(dex_login.main(login))
