// Package deploy holds the deployment files (image, compose, Kubernetes,
// systemd, Prometheus alert rules, Grafana dashboard) and the tests that
// keep them honest: there is no container engine in CI, so the tests check
// that the Dockerfile builds the binary the way `make build` does, that
// compose and Kubernetes run that image with probes, resources and a grace
// period longer than the drain, and that alerts and dashboard only query
// series the gateway exports.
package deploy
