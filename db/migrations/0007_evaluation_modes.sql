CREATE TABLE "prediction_sets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"evaluation_id" uuid NOT NULL,
	"dataset_id" text NOT NULL,
	"dataset_content_hash" text NOT NULL,
	"items" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "predictions" (
	"set_id" uuid NOT NULL,
	"sample_idx" integer NOT NULL,
	"prediction" text NOT NULL,
	CONSTRAINT "predictions_set_id_sample_idx_pk" PRIMARY KEY("set_id","sample_idx")
);
--> statement-breakpoint
CREATE TABLE "run_dataset_reuse" (
	"run_id" uuid NOT NULL,
	"dataset_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"may_reuse" boolean NOT NULL,
	"decided_at" timestamp with time zone,
	"reused_from_run_id" uuid,
	CONSTRAINT "run_dataset_reuse_run_id_dataset_id_pk" PRIMARY KEY("run_id","dataset_id")
);
--> statement-breakpoint
ALTER TABLE "prediction_sets" ADD CONSTRAINT "prediction_sets_evaluation_id_evaluations_id_fk" FOREIGN KEY ("evaluation_id") REFERENCES "public"."evaluations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_sets" ADD CONSTRAINT "prediction_sets_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_set_id_prediction_sets_id_fk" FOREIGN KEY ("set_id") REFERENCES "public"."prediction_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_dataset_reuse" ADD CONSTRAINT "run_dataset_reuse_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "prediction_sets_latest_idx" ON "prediction_sets" USING btree ("evaluation_id","dataset_id","created_at");--> statement-breakpoint
CREATE INDEX "run_dataset_reuse_fingerprint_idx" ON "run_dataset_reuse" USING btree ("fingerprint");
