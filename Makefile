# msb — the two commands a new user needs:
#   make demo   install every dependency, build, import the default image, run a first sandbox
#   make test   everything `make demo` sets up, then every test suite (run as root)
# and the ones a developer uses:
#   make build | make image | make unit | make asan | make fuzz | make integration | make bench
#   make bench-vm
#   make install (libmsb, msb and the microsandbox Python package) | make python-test

BUILD      ?= build
ASAN_BUILD ?= build-asan
MSB        := $(BUILD)/cli/msb
PYTHON     := /usr/bin/python3
FUZZ_SECONDS ?= 10
IMAGE_DIR  := $(BUILD)/images/busybox
export MSB_HOME ?= $(HOME)/.microsandbox

.PHONY: all deps build install image demo test unit asan fuzz integration integration-vm-net python-test bench bench-vm bench-python clean

all: build

deps:
	./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# libmsb, the msb CLI and runtime, and the `microsandbox` Python package (into Debian
# python3's site-packages), under meson's prefix (/usr/local).
install: build
	meson install -C $(BUILD)

# The built-in default image local/busybox:latest, made from Debian's busybox-static.
image: build
	rm -rf $(IMAGE_DIR) && ./scripts/make-busybox-image.sh $(IMAGE_DIR) >/dev/null
	$(MSB) image load -q $(IMAGE_DIR) --tag local/busybox:latest

demo: deps image
	@echo "+ msb run local/busybox:latest -- sh -c '…'"
	@$(MSB) run local/busybox:latest -- sh -c \
	  'echo "hello from sandbox $$(hostname): $$(ls /proc | grep -c "^[0-9]") processes visible, root inside is uid $$(awk "{print \$$2}" /proc/self/uid_map) on the host, 6 x 7 = $$((6 * 7))"'

test: deps build
	$(MAKE) unit asan fuzz integration integration-vm-net python-test

unit: build
	meson test -C $(BUILD) --print-errorlogs

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs

fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh $(BUILD)/fuzz

integration: build
	rm -rf $(IMAGE_DIR) && ./scripts/make-busybox-image.sh $(IMAGE_DIR) >/dev/null
	MSB_BUILD=$(abspath $(BUILD)) MSB_TEST_IMAGE_DIR=$(abspath $(IMAGE_DIR)) \
	  $(PYTHON) -m pytest -q tests/integration

# The network suite again with every sandbox a QEMU microVM (the same engine behind QEMU's
# stream netdev; TCG here), where the guest's root owns its kernel and can craft packets.
integration-vm-net: build
	rm -rf $(IMAGE_DIR) && ./scripts/make-busybox-image.sh $(IMAGE_DIR) >/dev/null
	MSB_IT_BACKEND=vm MSB_BUILD=$(abspath $(BUILD)) MSB_TEST_IMAGE_DIR=$(abspath $(IMAGE_DIR)) \
	  $(PYTHON) -m pytest -q tests/integration/net

# The microsandbox package against the build tree (pytest + pytest-asyncio, run as root).
python-test: build
	rm -rf $(IMAGE_DIR) && ./scripts/make-busybox-image.sh $(IMAGE_DIR) >/dev/null
	MSB_BUILD=$(abspath $(BUILD)) MSB_TEST_IMAGE_DIR=$(abspath $(IMAGE_DIR)) PYTHONPATH=$(abspath $(BUILD))/python \
	  $(PYTHON) -m pytest -q tests/python

# Every suite in one run (bench/all.sh; BENCH_SUITES picks some): report in bench/results/.
bench: image
	MSB_BUILD=$(abspath $(BUILD)) ./bench/all.sh

# The vm backend against the ns backend: boot, idle memory, exec round trip (bench/vm/run.sh).
bench-vm: build
	MSB_BUILD=$(abspath $(BUILD)) ./bench/vm/run.sh

# The Python binding's overhead against the C API (bench/python/run.sh).
bench-python: build
	MSB_BUILD=$(abspath $(BUILD)) ./bench/python/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
