// Package oob_test runs the OOB checks (deployKF's browser out-of-band login with PKCE, the token cache and
// refresh) and the OAUTH2P checks as ginkgo specs against every profile: the bearer-token ones run on deploykf, n/a
// with the reason where a profile has no public OOB client; OAUTH2P-001 (unauthenticated API calls) wherever there
// is a gateway.
package oob_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)

func TestOOB(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "OOB login, token cache and bearer tokens")
}

var _ = framework.DescribeChecks("OOB", "OAUTH2P")
