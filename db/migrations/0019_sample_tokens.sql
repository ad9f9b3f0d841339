CREATE TABLE "run_model_identities" (
	"run_id" uuid NOT NULL,
	"model" text NOT NULL,
	"system_fingerprint" text NOT NULL,
	"dataset_id" text NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"seq" bigserial NOT NULL,
	CONSTRAINT "run_model_identities_run_id_model_system_fingerprint_pk" PRIMARY KEY("run_id","model","system_fingerprint")
);
--> statement-breakpoint
ALTER TABLE "run_datasets" ADD COLUMN "judge_prompt_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "run_datasets" ADD COLUMN "judge_completion_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sample_results" ADD COLUMN "prompt_tokens" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sample_results" ADD COLUMN "tokens_counted" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "run_model_identities" ADD CONSTRAINT "run_model_identities_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;