"""The handler of the delivery benchmark: each SQS record's body is sent on to REPLY_QUEUE."""

import os

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    for record in event["Records"]:
        sqs.send_message(QueueUrl=os.environ["REPLY_QUEUE"], MessageBody=record["body"])
    return {}
