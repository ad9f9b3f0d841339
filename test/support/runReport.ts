/**
 * A run's Excel report, once written: the run is closed (and its view says so) just before
 * buildRunReport writes the report, so a test that saw the run end asks until the report is there.
 */
export async function downloadRunReport(
  apiUrl: string,
  key: string,
  runId: string,
  timeoutMs = 60_000,
): Promise<ArrayBuffer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${apiUrl}/v1/runs/${runId}/report.xlsx`, { headers: { authorization: `Bearer ${key}` } });
    if (res.status === 200) return res.arrayBuffer();
    // 409: not written yet. Anything else is a real failure.
    if (res.status !== 409 || Date.now() > deadline)
      throw new Error(`report of run ${runId}: HTTP ${res.status} ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
