// Package m2m_test runs the M2M checks (Kubernetes ServiceAccount tokens as Bearer at the gateway of Kubeflow
// 1.9+ with the kind overlay) as ginkgo specs against every profile: they pass on kubeflow and are n/a where the
// gateway takes no ServiceAccount tokens (Kubeflow 1.8, deployKF, standalone).
package m2m_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)

func TestM2M(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "ServiceAccount tokens at the gateway")
}

var _ = framework.DescribeChecks("M2M")
