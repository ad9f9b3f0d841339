/**
 * Imported first by worker entry points. V8 grows the heap by up to four times what survives each
 * full collection; a worker's heap is mostly short-lived answers and rows, so that lets its
 * resident size climb well past what it needs (a 100,000-sample run peaked at 602 MiB). Growing
 * by half kept it near 390 MiB but collected the old generation every second or so of a fast
 * run, each collection stalling every answer that arrived meanwhile; doubling collects about half
 * as often and peaked at 436 MiB (150 %: 471 MiB, with the report's garbage on top) —
 * bench/README.md, throughput and scale.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--heap-growing-percent=100');
