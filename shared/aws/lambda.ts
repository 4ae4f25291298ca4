/** One Lambda client per container, for every function that invokes another. */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { oncePerContainer, sdkClientSettings } from './client.js';

export const lambdaClient = oncePerContainer(() => new LambdaClient(sdkClientSettings));
