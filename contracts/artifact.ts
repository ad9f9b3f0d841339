/** Files kept with a run (table run_artifacts): written by activities, served by the API. */
export const REPORT_ARTIFACT = {
  kind: 'report.xlsx',
  contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;
