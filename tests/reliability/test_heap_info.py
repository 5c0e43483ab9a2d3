"""The soak's heap reading (``jcmd GC.heap_info``) under each collector's report format."""

from __future__ import annotations

import subprocess
from typing import Any

from tests.reliability.heap_info import heap_used_kib

G1 = """12345:
 garbage-first heap   total 262144K, used 23456K [0x0000000780000000, 0x0000000800000000)
  region size 1024K, 5 young (5120K), 0 survivors (0K)
 Metaspace       used 51234K, committed 52000K, reserved 1114112K
  class space    used 6000K, committed 6400K, reserved 1048576K
"""

PARALLEL = """22274:
 PSYoungGen      total 113152K, used 17511K [0x0000000782380000, 0x000000078a180000)
  eden space 97280K, 18% used [0x0000000782380000,0x0000000783499d38,0x0000000788280000)
  from space 15872K, 0% used [0x0000000789200000,0x0000000789200000,0x000000078a180000)
  to   space 15872K, 0% used [0x0000000788280000,0x0000000788280000,0x0000000789200000)
 ParOldGen       total 258048K, used 40960K [0x0000000686a00000, 0x0000000696600000)
  object space 258048K, 15% used [0x0000000686a00000,0x0000000686a00000,0x0000000696600000)
 Metaspace       used 8918K, committed 9088K, reserved 1114112K
  class space    used 1062K, committed 1152K, reserved 1048576K
"""


def test_g1_reports_one_heap_line_and_metaspace_is_not_counted() -> None:
    assert heap_used_kib(G1) == 23456


def test_parallel_gc_counts_the_young_and_the_old_generation() -> None:
    assert heap_used_kib(PARALLEL) == 17511 + 40960


def test_a_report_without_a_heap_line_reads_as_none() -> None:
    assert heap_used_kib("12345:\nCould not attach to the process\n") is None
    assert heap_used_kib("") is None


def test_the_local_driver_s_own_report_reads_within_its_maximum(spark: Any) -> None:
    jvm = spark.sparkContext._jvm
    pid = jvm.java.lang.ProcessHandle.current().pid()
    info = subprocess.run(
        ["jcmd", str(pid), "GC.heap_info"], capture_output=True, text=True, timeout=60
    ).stdout
    used = heap_used_kib(info)
    assert used is not None, info
    assert 0 < used * 1024 <= jvm.java.lang.Runtime.getRuntime().maxMemory(), info
