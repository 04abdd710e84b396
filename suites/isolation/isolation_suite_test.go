// Package isolation_test runs the ISO checks (spoofing and multi-user isolation negatives) as ginkgo specs
// against every profile.
package isolation_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)

func TestIsolation(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Isolation and spoofing")
}

var _ = framework.DescribeChecks("ISO")
