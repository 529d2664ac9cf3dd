package main

import (
	"slices"
	"testing"
)

func TestVirtioOutputs(t *testing.T) {
	env := []string{"MINICOMP_RIG=vkms", envVirtioOutputs + "=2"}
	t.Setenv(envVirtioOutputs, "")
	if genv, q, k, err := virtioOutputs(env, "amd64", false); err != nil || q != nil || k != nil || !slices.Equal(genv, env) {
		t.Errorf("unset: %v %v %v %v", genv, q, k, err)
	}
	t.Setenv(envVirtioOutputs, "2")
	genv, q, k, err := virtioOutputs(env, "amd64", false)
	if err != nil || !slices.Equal(genv, env) || !slices.Equal(q, []string{"-device", "virtio-gpu-pci,max_outputs=2"}) ||
		!slices.Equal(k, []string{"video=Virtual-1:e", "video=Virtual-2:e", "video=Virtual-3:e"}) {
		t.Errorf("amd64: env %v qemu %v kernel %v err %v", genv, q, k, err)
	}
	// Other guests: no device, and the guest does not see the variable.
	if genv, q, k, err := virtioOutputs(env, "arm64", false); err != nil || q != nil || k != nil || !slices.Equal(genv, env[:1]) {
		t.Errorf("arm64: env %v qemu %v kernel %v err %v", genv, q, k, err)
	}
	if _, _, _, err := virtioOutputs(env, "amd64", true); err == nil {
		t.Error("with Mesa: no error")
	}
	for _, bad := range []string{"two", "0", "17"} {
		t.Setenv(envVirtioOutputs, bad)
		if _, _, _, err := virtioOutputs(env, "amd64", false); err == nil {
			t.Errorf("%s=%s: no error", envVirtioOutputs, bad)
		}
	}
}
