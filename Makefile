# htb: the two commands README promises, and the benchmark.
#   make demo   set up, build (release), run htb on the sample study, report in ./out
#   make test   set up, build, run every test (real-data tests need ../shared/data)
#   make bench  set up (+ dcm2niix, SimpleITK), build (release), run the benchmarks (load vs
#               dcm2niix, automatic analysis vs SimpleITK with the overlays' share, overlay share
#               of an expert-mask analysis, batch vs one analyze per study, automatic
#               segmentation's accuracy over phantom seeds and on perturbed real cases)

SAMPLE ?= SampleStudies/phantom-htb-low
OUT ?= out
HTB_RELEASE = .build/release/htb

.PHONY: setup demo test bench clean

setup:
	@sh scripts/setup

demo: setup
	swift build -c release
	$(HTB_RELEASE) info $(SAMPLE)
	$(HTB_RELEASE) analyze $(SAMPLE) \
		--liver-mask $(SAMPLE)/truth/seg.dcm:Liver \
		--lesion-mask '$(SAMPLE)/truth/seg.dcm:Lesion*' \
		--out $(OUT)

test:
	@sh scripts/setup --test-peers
	swift build --build-tests
	swift test

bench: setup
	@sh scripts/setup --bench-peers
	swift build -c release
	python3 Benchmarks/bench_load.py
	python3 Benchmarks/bench_auto.py
	python3 Benchmarks/bench_overlay.py
	python3 Benchmarks/bench_batch.py
	python3 Benchmarks/phantom_sweep.py
	python3 Benchmarks/robustness.py

clean:
	rm -rf .build $(OUT)
