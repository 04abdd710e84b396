// Package compat_test proves that clients written by other people, not only our own flows, work against the
// embedded stacks: the Python login scripts people copy from Kubeflow's docs, run as real processes.
package compat_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestCompat(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Script compatibility")
}
