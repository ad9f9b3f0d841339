ALTER TABLE "sample_results" ADD COLUMN "completions" jsonb;--> statement-breakpoint
ALTER TABLE "sample_results" ADD COLUMN "code_verdicts" jsonb;--> statement-breakpoint
CREATE TABLE "perturbed_sample_results" (
	"run_id" uuid NOT NULL,
	"dataset_id" text NOT NULL,
	"sample_idx" integer NOT NULL,
	"position" integer NOT NULL,
	"prompt" text NOT NULL,
	"predict" text,
	"score" double precision,
	"status" text NOT NULL,
	"error" text,
	"output_length" integer DEFAULT 0 NOT NULL,
	"latency_ms" integer DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "perturbed_sample_results_run_id_dataset_id_sample_idx_pk" PRIMARY KEY("run_id","dataset_id","sample_idx")
);
--> statement-breakpoint
ALTER TABLE "perturbed_sample_results" ADD CONSTRAINT "perturbed_sample_results_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;
