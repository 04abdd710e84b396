package main

import (
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// clusterClient builds the Kubernetes client of the commands that work on a cluster alone (audit, cleanup) from
// exactly one of --target and --kubeconfig; purpose ("audit", "clean up") goes into the usage errors, and where
// names the cluster for messages.
func clusterClient(targetFile, kubeconfig, kubeContext string, contextGiven bool, purpose string) (kubernetes.Interface, string, error) {
	switch {
	case targetFile != "" && kubeconfig != "":
		return nil, "", usageErr("give --target or --kubeconfig, not both")
	case targetFile == "" && kubeconfig == "":
		return nil, "", usageErr("give --target FILE or --kubeconfig FILE: the cluster to %s", purpose)
	case targetFile != "" && contextGiven:
		return nil, "", usageErr("--context goes with --kubeconfig; a target file names its own context")
	}
	if targetFile != "" {
		tf, err := target.LoadFile(targetFile)
		if err != nil {
			return nil, "", usageErr("%v", err)
		}
		if tf.Kubeconfig == "" {
			return nil, "", usageErr("target file %s has no kubeconfig: it names no cluster to %s", targetFile, purpose)
		}
		kubeconfig, kubeContext = tf.Kubeconfig, tf.Context
	}
	client, err := target.KubeClient(kubeconfig, kubeContext, 15*time.Second)
	if err != nil {
		return nil, "", usageErr("%v", err)
	}
	where := "the cluster of " + kubeconfig
	if kubeContext != "" {
		where += " (context " + kubeContext + ")"
	}
	return client, where, nil
}
