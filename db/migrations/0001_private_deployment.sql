CREATE TABLE "container_leases" (
	"run_id" uuid PRIMARY KEY NOT NULL,
	"gpu_type" text NOT NULL,
	"units" integer NOT NULL,
	"priority_rank" integer NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"granted_at" timestamp with time zone,
	"released_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "images" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"tag" text NOT NULL,
	"source" text NOT NULL,
	"owner_id" uuid,
	"status" text NOT NULL,
	"url" text NOT NULL,
	"dockerfile" text DEFAULT '' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"domains" jsonb NOT NULL,
	"framework" text DEFAULT '' NOT NULL,
	"hardware" text DEFAULT '' NOT NULL,
	"run_ref" text NOT NULL,
	"reject_reason" text,
	"reviewed_by" uuid,
	"reviewed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "upload_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"evaluation_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_by" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"upload_version" integer,
	CONSTRAINT "upload_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "upload_versions" (
	"evaluation_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"token_id" uuid,
	"kind" text NOT NULL,
	"derived_from" integer,
	"files" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"storage_path" text NOT NULL,
	"check" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "upload_versions_evaluation_id_version_pk" PRIMARY KEY("evaluation_id","version")
);
--> statement-breakpoint
ALTER TABLE "evaluations" ADD COLUMN "upload_counter" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "container_leases" ADD CONSTRAINT "container_leases_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_reviewed_by_users_id_fk" FOREIGN KEY ("reviewed_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "upload_tokens" ADD CONSTRAINT "upload_tokens_evaluation_id_evaluations_id_fk" FOREIGN KEY ("evaluation_id") REFERENCES "public"."evaluations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "upload_tokens" ADD CONSTRAINT "upload_tokens_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "upload_versions" ADD CONSTRAINT "upload_versions_evaluation_id_evaluations_id_fk" FOREIGN KEY ("evaluation_id") REFERENCES "public"."evaluations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "upload_versions" ADD CONSTRAINT "upload_versions_token_id_upload_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."upload_tokens"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "container_leases_queue_idx" ON "container_leases" USING btree ("gpu_type","priority_rank","requested_at");--> statement-breakpoint
CREATE UNIQUE INDEX "images_name_tag_uq" ON "images" USING btree ("name","tag");--> statement-breakpoint
CREATE INDEX "images_owner_idx" ON "images" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "upload_tokens_evaluation_idx" ON "upload_tokens" USING btree ("evaluation_id","created_at");