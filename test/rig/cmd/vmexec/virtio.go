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
//
// QEMU connects only the first output until a display UI gives the others
// a size (with -display none the second connector reports disconnected,
// no modes), so the guest kernel is told to force every virtual connector
// on (video=Virtual-N:e: vkms's is connected anyway; a forced virtio-gpu
// connector offers the standard modes up to 5120x2160, the largest
// first: tests pick theirs); QEMU takes the scanout of a forced output
// like any other, it just shows it nowhere.
const envVirtioOutputs = "MINICOMP_RIG_VIRTIO_OUTPUTS"

// virtioOutputs returns the guest's environment (without the variable
// where the device is not attached), and the QEMU arguments and kernel
// command line for the device.
func virtioOutputs(env []string, goarch string, mesa bool) (genv, qargs, kargs []string, err error) {
	v := os.Getenv(envVirtioOutputs)
	if v == "" {
		return env, nil, nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 16 {
		return nil, nil, nil, fmt.Errorf("%s=%q: want a number of outputs from 1 to 16 (QEMU's max_outputs)", envVirtioOutputs, v)
	}
	if goarch != "amd64" {
		vlog("%s: no virtio-gpu in the %s guest (only the x86_64 kernel has DRM_VIRTIO_GPU)", envVirtioOutputs, goarch)
		kept := env[:0:0]
		for _, kv := range env {
			if !strings.HasPrefix(kv, envVirtioOutputs+"=") {
				kept = append(kept, kv)
			}
		}
		return kept, nil, nil, nil
	}
	if mesa {
		return nil, nil, nil, fmt.Errorf("%s: not with Mesa (its virgl virtio-gpu is the guest's virtio-gpu)", envVirtioOutputs)
	}
	// The rig's vkms has one virtual connector besides these (which takes
	// which number depends on probe order: force them all).
	for i := 1; i <= n+1; i++ {
		kargs = append(kargs, fmt.Sprintf("video=Virtual-%d:e", i))
	}
	return env, []string{"-device", fmt.Sprintf("virtio-gpu-pci,max_outputs=%d", n)}, kargs, nil
}
