# One image for every process: the gateway (`npm run gateway`) and each stage worker
# (`npm run worker:stt|llm|tts`). ffmpeg decodes uploaded audio files.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx
COPY src ./src
COPY workers ./workers
COPY public ./public
COPY bin ./bin
COPY tsconfig.json ./
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
CMD ["npm", "run", "gateway"]
