/**
 * Imported first by worker entry points. V8 grows the heap by a large factor after each
 * collection by default; a worker's heap is mostly short-lived answers and rows, so growing it by
 * half keeps its resident size about a quarter lower (a 100,000-sample run peaked at 602 MiB by
 * default and 433 MiB with this, bench/README.md) for a few percent more time in GC.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--heap-growing-percent=50');
