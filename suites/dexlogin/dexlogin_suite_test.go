// Package dexlogin_test runs the SETUP and DEX-LOCAL checks (Dex static-password login through the gateway) as
// ginkgo specs against every profile.
package dexlogin_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)

func TestDexLogin(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Dex static-password login")
}

var _ = framework.DescribeChecks("SETUP", "DEX-LOCAL")
