# SphereLab — the two commands a new user needs:
#   make run    install what is missing, build (release), open the workbench
#   make test   install what is missing, build, run every test
.PHONY: run test deps build release bench train clean compare test-torch fuzz

APT_PACKAGES := libopenblas-dev zlib1g-dev libncurses-dev dataset-fashion-mnist tmux
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	swift build

release: deps
	swift build -c release

run: release
	.build/release/spherelab

train: release
	.build/release/spherelab train --steps 469

bench: release
	.build/release/spherelab bench --config all --variant all

# Unit, gradient and end-to-end tests, then the trainer/UI hand-over under the thread sanitizer.
test: deps
	swift build
	swift build --build-tests
	swift test --skip-build
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan
	swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "ControllerStressTests|RemoteRunTests|RaceControllerTests"
	$(MAKE) test-torch

# Long fuzz run of the snapshot and dataset readers: 100 000 cases per format (Tests/FUZZ.md).
fuzz: deps
	scripts/fuzz.sh

clean:
	rm -rf .build

# Developers' yardstick: SphereLab vs PyTorch (needs `pip install torch`; not part of the tests).
compare: release
	python3 Benchmarks/compare_pytorch.py --inference

# The PyTorch twin (PyTorch/, issue 14): CPU torch from pip's find-links (/opt/wheels) — always
# pinned, an unpinned torch pulls gigabytes of CUDA — then the package and its unittest suite.
# Builds SphereLab first so the cross-checks against the Swift binary run instead of skipping.
TORCH_PIN := torch==2.13.0+cpu
PYTHON := python3
test-torch: build
	@if ! $(PYTHON) -m pip install -q $(TORCH_PIN); then \
		echo "note: the pinned CPU wheel $(TORCH_PIN) is not installable here (pip's find-links lacks it);" \
		     "the PyTorch twin's tests are skipped — the Swift suite above is unaffected"; exit 0; fi; \
	$(PYTHON) -m pip install -q ./PyTorch && \
	cd PyTorch && OMP_NUM_THREADS=1 SPHERELAB_BIN=$(CURDIR)/.build/debug/spherelab $(PYTHON) -m unittest discover -s tests -t . -v
