module github.com/minicomp/minicomp

go 1.26.0

require (
	github.com/ebitengine/purego v0.11.3
	github.com/jezek/xgb v1.1.1
	github.com/neurlang/wayland v0.4.3
	golang.org/x/sys v0.49.0
)

require github.com/yalue/native_endian v1.0.2 // indirect
