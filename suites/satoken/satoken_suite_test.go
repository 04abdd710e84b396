// Package satoken_test runs the SA and RBAC checks (ServiceAccount tokens to the in-cluster API, RoleBindings
// across namespaces) as ginkgo specs against every profile.
package satoken_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)

func TestSAToken(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "ServiceAccount tokens and RBAC")
}

var _ = framework.DescribeChecks("SA", "RBAC")
