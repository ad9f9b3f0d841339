CREATE TABLE "resumable_upload_files" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"upload_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"path" text NOT NULL,
	"size_kb" bigint NOT NULL,
	"chunks" integer NOT NULL,
	"ready_chunks" integer[] DEFAULT '{}'::integer[] NOT NULL
);
--> statement-breakpoint
CREATE TABLE "resumable_uploads" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"token_id" uuid NOT NULL,
	"evaluation_id" uuid NOT NULL,
	"base_version" integer,
	"state" text DEFAULT 'open' NOT NULL,
	"manifest_hash" text NOT NULL,
	"chunk_kb" integer NOT NULL,
	"version" integer,
	"failure" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "resumable_upload_files" ADD CONSTRAINT "resumable_upload_files_upload_id_resumable_uploads_id_fk" FOREIGN KEY ("upload_id") REFERENCES "public"."resumable_uploads"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resumable_uploads" ADD CONSTRAINT "resumable_uploads_token_id_upload_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."upload_tokens"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resumable_uploads" ADD CONSTRAINT "resumable_uploads_evaluation_id_evaluations_id_fk" FOREIGN KEY ("evaluation_id") REFERENCES "public"."evaluations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "resumable_upload_files_path_uq" ON "resumable_upload_files" USING btree ("upload_id","path");--> statement-breakpoint
CREATE INDEX "resumable_upload_files_position_idx" ON "resumable_upload_files" USING btree ("upload_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "resumable_uploads_open_uq" ON "resumable_uploads" USING btree ("token_id") WHERE "resumable_uploads"."state" in ('open', 'committing');