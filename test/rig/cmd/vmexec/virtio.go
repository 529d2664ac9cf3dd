package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Several outputs on one display device: MINICOMP_RIG_VIRTIO_OUTPUTS=N
// attaches QEMU's virtio-gpu in 2D (no virgl: KMS only, no Mesa needed)
// with N outputs, N connectors and N CRTCs on one DRM device, beside the
// rig's vkms, to the amd64 guest (the one kernel built with
// DRM_VIRTIO_GPU). The guest sees the variable only where the device is
// attached; other guests run without it. Not with Mesa (its virgl device
// is the virtio-gpu there).
const envVirtioOutputs = "MINICOMP_RIG_VIRTIO_OUTPUTS"

// virtioOutputs returns the QEMU arguments for the device and the guest's
// environment (without the variable where it is not attached).
func virtioOutputs(env []string, goarch string, mesa bool) ([]string, []string, error) {
	v := os.Getenv(envVirtioOutputs)
	if v == "" {
		return env, nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 16 {
		return nil, nil, fmt.Errorf("%s=%q: want a number of outputs from 1 to 16 (QEMU's max_outputs)", envVirtioOutputs, v)
	}
	if goarch != "amd64" {
		vlog("%s: no virtio-gpu in the %s guest (only the x86_64 kernel has DRM_VIRTIO_GPU)", envVirtioOutputs, goarch)
		kept := env[:0:0]
		for _, kv := range env {
			if !strings.HasPrefix(kv, envVirtioOutputs+"=") {
				kept = append(kept, kv)
			}
		}
		return kept, nil, nil
	}
	if mesa {
		return nil, nil, fmt.Errorf("%s: not with Mesa (its virgl virtio-gpu is the guest's virtio-gpu)", envVirtioOutputs)
	}
	return env, []string{"-device", fmt.Sprintf("virtio-gpu-pci,max_outputs=%d", n)}, nil
}
