CREATE TABLE "dataset_pictures" (
	"dataset_id" text NOT NULL,
	"name" text NOT NULL,
	"sha256" text NOT NULL,
	"content" "bytea" NOT NULL,
	CONSTRAINT "dataset_pictures_dataset_id_name_pk" PRIMARY KEY("dataset_id","name")
);
--> statement-breakpoint
ALTER TABLE "dataset_pictures" ADD CONSTRAINT "dataset_pictures_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;